"""Step 4: record the collection, one row per planned container, saved in one go."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from labdesk.domain.catalog import Handling, SpecimenCategory
from labdesk.domain.draw_plan import PlannedContainer
from labdesk.domain.forensic import ForensicForm, UrineMethod
from labdesk.domain.series import MIN_TIMING_REASON, Anchor, Window, first_step_window
from labdesk.domain.timefmt import format_local
from labdesk.station.dto import ContainerCollection, TimedStepInfo
from ui.station.timing_reason import TimingReasonField
from ui.station.witness_fields import WitnessFields
from ui.widgets.feedback import Tone, flash
from ui.widgets.message_label import MessageLabel

FormAsker = Callable[[QWidget], "ForensicForm | None"]


class ContainerRow(QFrame):
    """What the MA records for one container."""

    def __init__(
        self,
        container: PlannedContainer,
        ask_form: FormAsker,
        parent: QWidget | None = None,
        timed: TimedStepInfo | None = None,
    ) -> None:
        super().__init__(parent)
        self.container = container
        self.timed = timed
        """The series step this tube is (OGTT 1H...), judged against its window on save."""
        self.timing_field: TimingReasonField | None = None
        self.timing_reason: QLineEdit | None = None
        self.dose_edit: QDateTimeEdit | None = None
        self._zone = ZoneInfo("UTC")
        self._ask_form = ask_form
        self.forensic: ForensicForm | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        swatch = QLabel(self)
        swatch.setFixedSize(28, 22)
        swatch.setStyleSheet(
            f"background: {container.cap_hex}; border: 1px solid #555; border-radius: 4px;"
        )
        stat = self.tr("  STAT") if container.stat else ""
        title = QLabel(
            f"<b>{container.position} · {container.container_name}</b> — "
            f"{', '.join(container.test_codes)}{stat}",
            self,
        )
        notes = (
            [self.tr("invert {n}×").format(n=container.inversions)] if container.inversions else []
        )
        notes += list(container.handling_labels)
        detail = QLabel(" · ".join(notes), self)
        detail.setStyleSheet("color: #555;")
        self.collected = QCheckBox(self.tr("Collected"), self)
        self.collected.setChecked(True)
        self.volume = QDoubleSpinBox(self)
        self.volume.setRange(0, 2 * container.nominal_volume_ml)
        self.volume.setDecimals(1)
        self.volume.setSuffix(self.tr(" mL"))
        self.volume.setValue(container.nominal_volume_ml)
        self.volume.setAccessibleName(self.tr("Volume"))
        self.fasting: QComboBox | None = None
        self.urine: QComboBox | None = None
        self.form_button: QPushButton | None = None
        self.reason = QLineEdit(self)
        self.reason.setPlaceholderText(self.tr("Why not collected (e.g. patient refused)"))
        self.reason.setEnabled(False)
        grid = QGridLayout(self)
        grid.addWidget(swatch, 0, 0, 2, 1)
        grid.addWidget(title, 0, 1, 1, 4)
        grid.addWidget(detail, 1, 1, 1, 4)
        grid.addWidget(self.collected, 2, 1)
        grid.addWidget(self.volume, 2, 2)
        extra = self._extra_field()
        if extra is not None:
            grid.addWidget(extra, 2, 3)
        grid.addWidget(self.reason, 2, 4)
        grid.setColumnStretch(4, 1)
        if timed is not None:
            self._add_timing(grid, timed)
        self.collected.toggled.connect(self._toggled)

    def _add_timing(self, grid: QGridLayout, timed: TimedStepInfo) -> None:
        """The time point, its window, the reason for an out-of-window time (and a dose)."""
        step = timed.step
        self.timing_label = QLabel(self)
        self.timing_label.setObjectName("timing")
        grid.addWidget(self.timing_label, 3, 1, 1, 2)
        self.timing_field = TimingReasonField(self)
        self.timing_reason = self.timing_field.edit
        grid.addWidget(self.timing_field, 3, 3, 1, 2)
        if step.anchor is Anchor.DOSE:
            self.dose_edit = QDateTimeEdit(self)
            self.dose_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            self.dose_edit.setAccessibleName(self.tr("Time of the dose"))
            grid.addWidget(QLabel(self.tr("Dose at"), self), 4, 1)
            grid.addWidget(self.dose_edit, 4, 2)

    def timing_window(self, at: datetime, timezone: str) -> Window | None:
        """The window this tube's draw at ``at`` is judged against (None: not timed)."""
        if self.timed is None:
            return None
        if self.timed.window is not None:
            return self.timed.window
        try:
            return first_step_window(self.timed.step, at, timezone, dose_at=self.dose_at())
        except ValueError:
            return None

    def set_zone(self, zone: ZoneInfo) -> None:
        """The clinic's zone, in which the dose time is typed."""
        self._zone = zone

    def dose_at(self) -> datetime | None:
        """The dose time typed (clinic zone), for a dose-timed step."""
        if self.dose_edit is None:
            return None
        local = self.dose_edit.dateTime().toPython()
        assert isinstance(local, datetime)
        return local.replace(tzinfo=self._zone)

    def show_timing(self, at: datetime, timezone: str) -> None:
        """Say the time point and where a draw at ``at`` stands in its window."""
        if self.timed is None:
            return
        window = self.timing_window(at, timezone)
        text = f"<b>{self.timed.step.time_point}</b>"
        if window is not None:
            span = f"{format_local(window.opens_at, timezone)[-5:]}-"
            span += format_local(window.closes_at, timezone)[-5:]
            outside = window.deviation(at)
            text += " · " + self.tr("window {span}").format(span=span)
            if outside:
                text += " · " + self.tr("now {outside}: give the reason").format(outside=outside)
        self.timing_label.setText(text)

    def _extra_field(self) -> QWidget | None:
        c = self.container
        if c.chain_of_custody:
            self.form_button = QPushButton(self.tr("Custody &form…"), self)
            self.form_button.clicked.connect(self._fill_form)
            return self.form_button
        if c.category is SpecimenCategory.URINE:
            self.urine = QComboBox(self)
            self.urine.addItem(self.tr("Collection type…"), None)
            for method in UrineMethod:
                self.urine.addItem(self.tr(method.label), method)
            return self.urine
        if Handling.FASTING in c.handling:
            self.fasting = QComboBox(self)
            self.fasting.addItem(self.tr("Fasted?…"), None)
            self.fasting.addItem(self.tr("Fasting"), True)
            self.fasting.addItem(self.tr("Not fasting"), False)
            return self.fasting
        return None

    def _toggled(self, collected: bool) -> None:
        self.reason.setEnabled(not collected)
        self.volume.setEnabled(collected)
        if not collected:
            self.reason.setFocus()

    def _fill_form(self) -> None:
        form = self._ask_form(self)
        if form is not None and self.form_button is not None:
            self.forensic = form
            self.form_button.setText(self.tr("Form {ccf} ✔").format(ccf=form.ccf_number or "?"))

    def request(
        self, collected_at: datetime | None, backdate_reason: str, collector_id: int | None
    ) -> ContainerCollection:
        """The row as a collection request."""
        c = self.container
        return ContainerCollection(
            container_code=c.container_code,
            ordered_test_ids=c.ordered_test_ids,
            collected=self.collected.isChecked(),
            not_collected_reason=self.reason.text(),
            collected_at=collected_at,
            backdate_reason=backdate_reason,
            collector_id=collector_id,
            volume_ml=(self.volume.value() or None) if not c.chain_of_custody else None,
            fasting=self.fasting.currentData() if self.fasting is not None else None,
            urine_method=self.urine.currentData() if self.urine is not None else None,
            forensic=self.forensic,
            timing_reason=self.timing_field.text() if self.timing_field is not None else "",
            dose_at=self.dose_at(),
        )


class CollectStep(QWidget):
    """Collection time (now, or earlier with a reason), one row per container, Save."""

    save_requested = Signal(list)
    """The :class:`ContainerCollection` requests."""
    back_requested = Signal()

    def __init__(
        self,
        ask_form: FormAsker,
        timezone: str,
        now: Callable[[], datetime],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._ask_form = ask_form
        self._zone = ZoneInfo(timezone)
        self._now = now
        self.rows: list[ContainerRow] = []
        self.collector_id: int | None = None
        self._collector_name = ""
        self.earlier_check = QCheckBox(self.tr("Collected &earlier than now"), self)
        self.when_edit = QDateTimeEdit(self)
        self.when_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.when_edit.setEnabled(False)
        self.backdate_reason = QLineEdit(self)
        self.backdate_reason.setPlaceholderText(self.tr("Reason for the earlier time"))
        self.backdate_reason.setEnabled(False)
        self.collector_label = QLabel(self)
        self.save_button = QPushButton(self.tr("&Save collection (Ctrl+S)"), self)
        self.save_button.setDefault(True)
        self.back_button = QPushButton(self.tr("Back to the plan (Esc)"), self)
        self.message = MessageLabel(self)
        self.rows_box = QWidget(self)
        self.rows_layout = QVBoxLayout(self.rows_box)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.rows_box)
        top = QHBoxLayout()
        top.addWidget(self.earlier_check)
        top.addWidget(self.when_edit)
        top.addWidget(self.backdate_reason, 1)
        top.addWidget(self.collector_label)
        self.witness = WitnessFields(self)
        self.witness.collector_edit.textChanged.connect(self._show_collector)
        top.addWidget(self.witness)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.back_button)
        bottom.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)
        self.earlier_check.toggled.connect(self.when_edit.setEnabled)
        self.earlier_check.toggled.connect(self.backdate_reason.setEnabled)
        self.save_button.clicked.connect(self.save)
        self.back_button.clicked.connect(self.back_requested)
        for keys, slot in (("Ctrl+S", self.save), ("Esc", self.back_requested.emit)):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    def set_collector(self, user_id: int, name: str) -> None:
        """Who is recorded as the collector (the signed-in user)."""
        self.collector_id = user_id
        self._collector_name = name
        self._show_collector()

    def _show_collector(self) -> None:
        """The signed-in user, unless a collector's badge was scanned (named when saved)."""
        if self.witness.collector_badge:
            self.collector_label.setText(self.tr("Collector: the badge scanned"))
        else:
            name = self._collector_name
            self.collector_label.setText(self.tr("Collector: {name}").format(name=name))

    def fasting_asked(self, test_codes: Collection[str]) -> None:
        """No 'Fasted?' choice on rows whose tests the preparation question already asked.

        The patient is asked once; the service takes the row's answer from the preparation.
        """
        for row in self.rows:
            if row.fasting is not None and set(row.container.test_codes) & set(test_codes):
                row.fasting.hide()
                row.fasting = None

    def load(
        self, containers: tuple[PlannedContainer, ...], timed: tuple[TimedStepInfo, ...] = ()
    ) -> None:
        """One row per container of the plan; time defaults to now.

        ``timed`` are the plan's timed-draw steps: their rows show the window and take a
        reason for a time outside it.
        """
        for row in self.rows:
            row.hide()  # at once: the deferred delete waits for the event loop
            row.deleteLater()
        # Empty the layout too: the last visit's stretch would otherwise stay above this
        # visit's rows, and after a few patients push them to the bottom of the step.
        while self.rows_layout.count():
            self.rows_layout.takeAt(0)
        steps = {t.ordered_test_id: t for t in timed}
        self.witness.clear()
        self.witness.set_forensic(any(c.chain_of_custody for c in containers))
        self.rows = [
            ContainerRow(
                c,
                self._ask_form,
                self.rows_box,
                next((steps[i] for i in c.ordered_test_ids if i in steps), None),
            )
            for c in containers
        ]
        for row in self.rows:
            row.set_zone(self._zone)
            if row.dose_edit is not None:
                dose = self._now().astimezone(self._zone).replace(tzinfo=None)
                row.dose_edit.setDateTime(QDateTime(dose))
            row.show_timing(self._now(), self._zone.key)
            if row.timing_field is not None:
                row.timing_field.confirmed.connect(self.save)  # Enter on the reason saves
        for row in self.rows:
            self.rows_layout.addWidget(row)
        self.rows_layout.addStretch(1)
        self.earlier_check.setChecked(False)
        local_now = self._now().astimezone(self._zone).replace(tzinfo=None)
        self.when_edit.setDateTime(QDateTime(local_now))
        self.backdate_reason.clear()
        self.message.show_info(
            self.tr(
                "Untick a container that was not collected and say why; its tests stay pending."
            )
        )
        if self.rows:
            self.rows[0].collected.setFocus()

    def save(self) -> None:
        """Emit the requests for every row."""
        if not self.rows:
            return
        when: datetime | None = None
        reason = ""
        if self.earlier_check.isChecked():
            local = self.when_edit.dateTime().toPython()
            assert isinstance(local, datetime)
            when = local.replace(tzinfo=self._zone)  # typed in the clinic's zone
            reason = self.backdate_reason.text()
        if not self._timing_ok(when or self._now()):
            return
        # A scanned collector's badge names who drew; the service resolves it for every tube.
        collector = None if self.witness.collector_badge else self.collector_id
        self.save_requested.emit([row.request(when, reason, collector) for row in self.rows])

    def _timing_ok(self, at: datetime) -> bool:
        """Ask for the reason of a timed draw outside its window before saving."""
        for row in self.rows:
            window = row.timing_window(at, self._zone.key)
            row.show_timing(at, self._zone.key)
            if window is None or row.timed is None or row.timing_field is None:
                continue
            needs = row.timed.step.reason_required and row.collected.isChecked()
            short = len(row.timing_field.text()) < MIN_TIMING_REASON
            if needs and not window.contains(at) and short:
                self.message.show_error(
                    self.tr(
                        "{point} is outside its window ({outside}): type the reason for the "
                        "time; it goes to the lab with the specimen."
                    ).format(point=row.timed.step.time_point, outside=window.deviation(at))
                )
                flash(row.timing_field, Tone.ALARM)
                row.timing_field.ask()
                return False
        return True
