"""The plan step's preparation questions: exactly what the plan's tests need, before Collect.

One row per question from the compendium (fasting: when did the patient last eat; a drug
level: when was the last dose; first morning urine: yes or no), with what counts as met.
Each answer is judged at once by the domain rule. When a requirement is not met the MA
either gives a comment ('collect anyway') or reschedules the tests (they stay pending and
the clinician board shows the reason). Collect stays disabled until :meth:`ready`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from labdesk.domain.draw_plan import DrawPlan
from labdesk.domain.errors import ValidationError
from labdesk.domain.preparation import (
    MIN_COMMENT,
    Finding,
    PreparationAnswers,
    PreparationKind,
    Requirement,
    evaluate,
    not_met,
)
from ui.widgets.feedback import COLOURS, Tone
from ui.widgets.message_label import MessageLabel

TIME_FORMATS = ("%H:%M", "%Y-%m-%d %H:%M")


def parse_local_time(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """``HH:MM`` (the latest such time not after now) or ``YYYY-MM-DD HH:MM``, in ``zone``.

    Returns None for empty or unreadable text.
    """
    raw = text.strip()
    local_now = now.astimezone(zone)
    for fmt in TIME_FORMATS:
        try:
            parsed = datetime.strptime(raw, fmt)  # noqa: DTZ007 - the zone is set below
        except ValueError:
            continue
        if fmt == "%H:%M":
            at = local_now.replace(hour=parsed.hour, minute=parsed.minute, second=0, microsecond=0)
            return at - timedelta(days=1) if at > local_now + timedelta(minutes=1) else at
        return parsed.replace(tzinfo=zone)
    return None


class _Question:
    """One question's widgets."""

    def __init__(self, requirement: Requirement, parent: QWidget) -> None:
        self.requirement = requirement
        self.label = QLabel(
            f"<b>{requirement.question}</b><br><small>{requirement.met_when} · "
            f"{', '.join(requirement.test_codes)}</small>",
            parent,
        )
        self.label.setWordWrap(True)
        self.edit: QLineEdit | None = None
        self.choice: QComboBox | None = None
        if requirement.kind is PreparationKind.FIRST_MORNING_URINE:
            self.choice = QComboBox(parent)
            self.choice.addItem(parent.tr("Answer…"), None)
            self.choice.addItem(parent.tr("Yes, first morning urine"), True)
            self.choice.addItem(parent.tr("No"), False)
            self.choice.setAccessibleName(requirement.question)
        else:
            self.edit = QLineEdit(parent)
            self.edit.setPlaceholderText(parent.tr("time, e.g. 21:30 or 2026-03-01 21:30"))
            self.edit.setAccessibleName(requirement.question)
        self.status = QLabel(parent)

    @property
    def field(self) -> QWidget:
        """The answer's input widget."""
        widget = self.edit if self.edit is not None else self.choice
        assert widget is not None
        return widget


class PreparationPanel(QGroupBox):
    """The preparation questions of the plan, their answers and what follows."""

    changed = Signal()
    """An answer or the comment changed (the plan step re-checks Collect)."""
    reschedule_requested = Signal(list, str)
    """Ordered test ids whose preparation is not met, and the suggested reason."""

    def __init__(
        self, timezone: str, now: Callable[[], datetime], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Patient preparation: ask before collecting"))
        self._zone = ZoneInfo(timezone)
        self._now = now
        self._questions: list[_Question] = []
        self._plan: DrawPlan | None = None
        self.grid = QGridLayout()
        self.comment = QLineEdit(self)
        self.comment.setPlaceholderText(
            self.tr("Collect anyway: comment for the lab (who agreed and why)")
        )
        self.comment.setAccessibleName(self.tr("Collect anyway comment"))
        self.reschedule_button = QPushButton(self.tr("&Reschedule these tests…"), self)
        self.message = MessageLabel(self)
        bottom = QHBoxLayout()
        bottom.addWidget(self.comment, 1)
        bottom.addWidget(self.reschedule_button)
        layout = QVBoxLayout(self)
        layout.addLayout(self.grid)
        layout.addLayout(bottom)
        layout.addWidget(self.message)
        self.comment.textChanged.connect(self._update)
        self.reschedule_button.clicked.connect(self._reschedule)
        self.set_requirements((), None)

    def set_clock(self, now: Callable[[], datetime]) -> None:
        """The clock answers are judged by (the app's clock)."""
        self._now = now

    def set_requirements(self, requirements: Sequence[Requirement], plan: DrawPlan | None) -> None:
        """Ask ``requirements`` (keeping answers already typed for the same questions)."""
        kept = {q.requirement.key: self._raw(q) for q in self._questions}
        for question in self._questions:
            for widget in (question.label, question.field, question.status):
                self.grid.removeWidget(widget)
                widget.deleteLater()
        self._questions = []
        self._plan = plan
        for row, requirement in enumerate(requirements):
            question = _Question(requirement, self)
            self._questions.append(question)
            self.grid.addWidget(question.label, row, 0)
            self.grid.addWidget(question.field, row, 1)
            self.grid.addWidget(question.status, row, 2)
            self.grid.setColumnStretch(0, 1)
            self._restore(question, kept.get(requirement.key))
            if question.edit is not None:
                question.edit.textChanged.connect(self._update)
            if question.choice is not None:
                question.choice.currentIndexChanged.connect(self._update)
        self.setVisible(bool(requirements))
        self._update()

    def reset(self) -> None:
        """A new patient: no question and no answer of the last patient's stays shown.

        Answers are kept across re-plans of one visit (:meth:`set_requirements`), never
        into the next patient's: "last ate at 03:00" is about one person.
        """
        self.comment.clear()
        self.set_requirements((), None)

    @staticmethod
    def _raw(question: _Question) -> object:
        if question.edit is not None:
            return question.edit.text()
        assert question.choice is not None
        return question.choice.currentIndex()

    @staticmethod
    def _restore(question: _Question, raw: object) -> None:
        if raw is None:
            return
        if question.edit is not None and isinstance(raw, str):
            question.edit.setText(raw)
        elif question.choice is not None and isinstance(raw, int):
            question.choice.setCurrentIndex(raw)

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        """The questions asked."""
        return tuple(q.requirement for q in self._questions)

    def fasting_test_codes(self) -> frozenset[str]:
        """The tests whose fasting this panel asks (the collect step does not ask again)."""
        return frozenset(
            code
            for q in self._questions
            if q.requirement.kind is PreparationKind.FASTING
            for code in q.requirement.test_codes
        )

    def question_field(self, kind: PreparationKind) -> QWidget:
        """The input of the first question of ``kind`` (for keyboard focus and tests)."""
        return next(q.field for q in self._questions if q.requirement.kind is kind)

    def answers(self) -> PreparationAnswers:
        """What was answered (unreadable times count as not answered)."""
        now = self._now()
        meal = None
        doses: list[tuple[str, datetime]] = []
        morning = None
        for q in self._questions:
            kind = q.requirement.kind
            if q.choice is not None:
                morning = q.choice.currentData()
                continue
            assert q.edit is not None
            at = parse_local_time(q.edit.text(), now, self._zone)
            if at is None:
                continue
            if kind is PreparationKind.FASTING:
                meal = at
            else:
                doses.append((q.requirement.test_codes[0], at))
        return PreparationAnswers(
            last_meal_at=meal,
            last_doses=tuple(doses),
            first_morning_urine=morning,
            comment=" ".join(self.comment.text().split()),
        )

    def findings(self) -> tuple[Finding, ...]:
        """The answers judged against the rules (empty when an answer time is impossible)."""
        try:
            return evaluate(self.requirements, self.answers(), self._now())
        except ValidationError:
            return ()

    def ready(self) -> bool:
        """True when Collect may be pressed: all answered, and not met ones commented."""
        if not self._questions:
            return True
        findings = self.findings()
        if len(findings) != len(self._questions) or any(not f.answered for f in findings):
            return False
        return not not_met(findings) or len(self.answers().comment) >= MIN_COMMENT

    def _update(self) -> None:
        problem = ""
        try:
            findings = evaluate(self.requirements, self.answers(), self._now())
        except ValidationError as exc:
            findings = ()
            problem = exc.message
        by_key = {f.requirement.key: f for f in findings}
        for q in self._questions:
            finding = by_key.get(q.requirement.key)
            if finding is None or not finding.answered:
                q.status.setText(self.tr("not answered"))
                q.status.setStyleSheet("")
            elif finding.met:
                q.status.setText(self.tr("✔ met"))
                q.status.setStyleSheet(f"color: {COLOURS[Tone.OK]};")
            else:
                q.status.setText(self.tr("✖ not met {why}").format(why=finding.shortfall))
                q.status.setStyleSheet(f"color: {COLOURS[Tone.ALARM]};")
        missed = not_met(findings)
        self.comment.setVisible(bool(missed))
        self.reschedule_button.setVisible(bool(missed))
        if problem:
            self.message.show_error(problem)
        elif missed:
            self.message.show_error(
                self.tr("Preparation not met: collect anyway with a comment, or reschedule.")
            )
        else:
            self.message.show_info("")
        self.changed.emit()

    def _reschedule(self) -> None:
        missed = not_met(self.findings())
        if not missed or self._plan is None:
            return
        codes = {code for f in missed for code in f.requirement.test_codes}
        ids = [
            t.ordered_test_id
            for c in self._plan.containers
            for t in c.tests
            if t.test_code in codes
        ]
        reason = "; ".join(
            f"{f.requirement.kind.label.lower()} not met {f.shortfall}".strip() for f in missed
        )
        self.reschedule_requested.emit(ids, reason)
