"""Dialogs of the results board: the drill-down of one test and the acknowledgement."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from labdesk.domain.result import AckMeaning
from labdesk.domain.timefmt import format_local
from labdesk.results.ack_dto import AckRefusal, SigningLine, SigningPreview
from labdesk.results.acknowledge import NOTE_MAX, refusal
from labdesk.results.board_dto import BoardRow, TestDetail
from ui.results.board_model import reason_label, severity_label, status_label
from ui.results.detail_models import (
    CustodyLineModel,
    ResultLineModel,
    SignatureModel,
    meaning_label,
)
from ui.results.signing_model import SigningModel
from ui.widgets.table_model import RowTableModel
from ui.widgets.table_view import sorting_table_view


def _table(model: RowTableModel[Any], parent: QWidget) -> QTableView:
    view = sorting_table_view(model, parent)
    view.setMinimumHeight(120)
    return view


class ResultDetailDialog(QDialog):
    """Values with units, ranges and flags; corrections; custody; signatures; escalations."""

    def __init__(
        self,
        detail: TestDetail,
        timezone: str,
        *,
        can_acknowledge: bool,
        open_timeline: Callable[[str], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        row = detail.row
        self.detail = detail
        self.setWindowTitle(self.tr("{test} — {patient}").format(
            test=row.test_name, patient=row.patient_name))  # fmt: skip
        self.resize(900, 560)
        summary = QLabel(self._summary(row, timezone), self)
        summary.setTextFormat(Qt.TextFormat.PlainText)
        summary.setWordWrap(True)
        summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.results_model = ResultLineModel(timezone, self)
        self.results_model.set_rows(detail.results)
        self.custody_model = CustodyLineModel(timezone, self)
        self.custody_model.set_rows(detail.custody)
        self.signature_model = SignatureModel(timezone, self)
        self.signature_model.set_rows(detail.signatures)

        self.tabs = QTabWidget(self)
        self.tabs.addTab(_table(self.results_model, self), self.tr("&Results"))
        # A quick list here; "Specimen timeline…" opens the full dialog with chain checks.
        self.tabs.addTab(_table(self.custody_model, self), self.tr("&Custody timeline"))
        self.tabs.addTab(_table(self.signature_model, self), self.tr("&Signatures"))
        if not detail.results:
            self.tabs.setCurrentIndex(1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.acknowledge_button = buttons.addButton(
            self.tr("&Acknowledge…"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        # The rule the signing service applies: no signature dialog for a test without result.
        why_not = refusal(row.status)
        self.acknowledge_button.setEnabled(
            can_acknowledge and row.status.is_open and why_not is None
        )
        if why_not is not None:
            self.acknowledge_button.setToolTip(refusal_label(why_not))
        self.timeline_button = buttons.addButton(
            self.tr("Specimen &timeline…"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.timeline_button.setEnabled(bool(row.accession) and open_timeline is not None)
        if open_timeline is not None and row.accession:
            accession = row.accession
            self.timeline_button.clicked.connect(lambda: open_timeline(accession))
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)

    def _summary(self, row: BoardRow, timezone: str) -> str:
        lines = [
            self.tr("{patient} · MRN {mrn} · {test} ({code}) · {status}").format(
                patient=row.patient_name,
                mrn=row.mrn,
                test=row.test_name,
                code=row.test_code,
                status=status_label(row.status),
            ),
            self.tr("Order {order} by {clinician} · specimen {accession} · result {result}").format(
                order=row.placer_order_number,
                clinician=row.ordering_provider,
                accession=row.accession or "—",
                result=severity_label(row.severity) or "—",
            ),
        ]
        for flag in row.flags:
            lines.append(
                self.tr("Flag: {reason}, due {due}").format(
                    reason=reason_label(flag.reason),
                    due=format_local(flag.due_at, timezone),
                )
            )
        if self.detail.pending_note:
            lines.append(self.tr("Not collected yet: {note}").format(
                note=self.detail.pending_note))  # fmt: skip
        if self.detail.caveat:
            lines.append(self.tr("Caution: {caveat}. Interpret the results with care.").format(
                caveat=self.detail.caveat))  # fmt: skip
        for escalation in self.detail.escalations:
            lines.append(
                self.tr("Escalated {at} to {who}").format(
                    at=format_local(escalation.escalated_at, timezone),
                    who=escalation.to_name or self.tr("nobody: no covering clinician set"),
                )
            )
        return "\n".join(lines)


LIST_ROWS = 12
"""Rows of the signature dialog's list shown without scrolling."""


class AcknowledgeDialog(QDialog):
    """Sign one result, or several normal ones: what is signed, meaning, note, signature.

    Lists every test being signed (patient, MRN, test, each current value with units and
    flag), so the clinician sees exactly what the signature covers; the list scrolls when
    a bulk sign-off holds many.
    """

    def __init__(
        self,
        lines: Sequence[SigningLine],
        printed_name: str,
        parent: QWidget | None = None,
        *,
        already_closed: Sequence[SigningLine] = (),
    ) -> None:
        super().__init__(parent)
        self.lines = list(lines)
        self.setWindowTitle(self.tr("Acknowledge %n result(s)", "", len(self.lines)))
        self.resize(980, 10)  # the height follows the list (see _fit_list)
        self.meaning = QComboBox(self)
        for meaning in AckMeaning:
            self.meaning.addItem(meaning_label(meaning), meaning)
        self.note = QPlainTextEdit(self)
        self.note.setPlaceholderText(self.tr("What was done or told (optional)"))
        self.note.setTabChangesFocus(True)
        self.note.setMaximumHeight(90)
        self.count = QLabel(self._count_text(), self)
        self.count.setWordWrap(True)
        self.signing_model = SigningModel(self.lines, self)
        self.signing_view = sorting_table_view(self.signing_model, self)
        self.signing_view.setAccessibleName(self.tr("Tests being signed"))
        self._fit_list()
        self.skipped = QLabel(self._skipped_text(already_closed), self)
        self.skipped.setWordWrap(True)
        self.skipped.setVisible(bool(already_closed))
        self.signature = QLabel(
            self.tr(
                "Your electronic signature will show: {name}, the date and time of signing, "
                "and the meaning chosen above."
            ).format(name=printed_name),
            self,
        )
        self.signature.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.tr("&Meaning:"), self.meaning)
        form.addRow(self.tr("&Note:"), self.note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(self.tr("&Sign"))
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #b00020")
        layout = QVBoxLayout(self)
        layout.addWidget(self.count)
        layout.addWidget(self.signing_view, 1)
        layout.addWidget(self.skipped)
        layout.addLayout(form)
        layout.addWidget(self.signature)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.meaning.setFocus()

    def _fit_list(self) -> None:
        """Show every row up to ``LIST_ROWS``; beyond that the list scrolls."""
        view = self.signing_view
        rows = min(max(self.signing_model.rowCount(), 1), LIST_ROWS)
        height = (
            view.horizontalHeader().sizeHint().height()
            + rows * view.verticalHeader().defaultSectionSize()
            + view.horizontalScrollBar().sizeHint().height()
            + 2 * view.frameWidth()
        )
        view.setMinimumHeight(height)

    def _count_text(self) -> str:
        patients = len({line.patient_id for line in self.lines})
        criticals = sum(any(v.critical for v in line.values) for line in self.lines)
        if len(self.lines) == 1:  # named in full: the list may elide a long test name
            [line] = self.lines
            text = self.tr("You are signing {test} for {patient} (MRN {mrn}).").format(
                test=line.test_name, patient=line.patient_name, mrn=line.mrn
            )
            if criticals:
                text += " " + self.tr("It has a critical value.")
        else:
            text = self.tr("You are signing %n test(s)", "", len(self.lines))
            text += " " + self.tr("for %n patient(s):", "", patients)
            if criticals:
                text += " " + self.tr("%n with a critical value.", "", criticals)
        for line in self.lines:
            if line.caveat:
                text += "\n" + self.tr("Caution, {test} ({mrn}): {caveat}.").format(
                    test=line.test_name, mrn=line.mrn, caveat=line.caveat
                )
        return text

    def _skipped_text(self, closed: Sequence[SigningLine]) -> str:
        return self.tr(
            "%n already acknowledged or cancelled by someone else: not signed again.",
            "",
            len(closed),
        )

    def chosen_meaning(self) -> AckMeaning:
        """The meaning picked."""
        return AckMeaning(self.meaning.currentData())

    def note_text(self) -> str:
        """The note typed."""
        return self.note.toPlainText().strip()

    def _accept(self) -> None:
        if len(self.note_text()) > NOTE_MAX:
            self.error.setText(
                self.tr("The note is too long ({n} characters); at most {max} fit.").format(
                    n=len(self.note_text()), max=NOTE_MAX
                )
            )
            return
        self.accept()


def refusal_label(reason: AckRefusal) -> str:
    """Why a test cannot be acknowledged, in a few words."""
    labels = {
        AckRefusal.NO_RESULT: QCoreApplication.translate("AcknowledgeDialog", "no result yet"),
        AckRefusal.NOT_NORMAL_FINAL: QCoreApplication.translate(
            "AcknowledgeDialog", "abnormal, critical or not final: sign it on its own"
        ),
    }
    return labels[reason]


REFUSALS_LISTED = 5
"""Refused tests named in the message; the rest are counted."""


def refusal_text(preview: SigningPreview) -> str:
    """Why nothing can be signed for this selection, naming the tests, and what to do."""

    def tr(text: str, n: int = -1) -> str:
        return QCoreApplication.translate("AcknowledgeDialog", text, "", n)

    if not preview.refused:
        return tr(
            "Nothing to sign: the selected results were already acknowledged or cancelled. "
            "Reload the board."
        )
    named = [
        tr("{patient} (MRN {mrn}), {test}: {why}").format(
            patient=line.patient_name,
            mrn=line.mrn,
            test=line.test_name,
            why=refusal_label(line.refusal),
        )
        for line in preview.refused[:REFUSALS_LISTED]
        if line.refusal is not None
    ]
    more = len(preview.refused) - len(named)
    if more > 0:
        named.append(tr("and %n more", more))
    head = tr(
        "Nothing was signed: %n selected test(s) cannot be acknowledged:", len(preview.refused)
    )
    advice = tr("Leave them out of the selection, then acknowledge again.")
    return f"{head} {'; '.join(named)}. {advice}"
