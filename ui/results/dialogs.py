"""Dialogs of the results board: the drill-down of one test and the acknowledgement."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
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
from labdesk.services.acknowledge import NOTE_MAX
from labdesk.services.board_dto import BoardRow, TestDetail
from ui.results.board_model import reason_label, severity_label, status_label
from ui.results.detail_models import (
    CustodyLineModel,
    ResultLineModel,
    SignatureModel,
    meaning_label,
)
from ui.table_model import RowTableModel
from ui.table_view import sorting_table_view


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
        self.acknowledge_button.setEnabled(can_acknowledge and row.status.is_open)
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
        for escalation in self.detail.escalations:
            lines.append(
                self.tr("Escalated {at} to {who}").format(
                    at=format_local(escalation.escalated_at, timezone),
                    who=escalation.to_name or self.tr("nobody: no covering clinician set"),
                )
            )
        return "\n".join(lines)


class AcknowledgeDialog(QDialog):
    """Sign one result, or several normal ones: meaning, note, and what the signature shows."""

    def __init__(
        self,
        rows: Sequence[BoardRow],
        printed_name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.rows = list(rows)
        self.setWindowTitle(self.tr("Acknowledge %n result(s)", "", len(self.rows)))
        self.meaning = QComboBox(self)
        for meaning in AckMeaning:
            self.meaning.addItem(meaning_label(meaning), meaning)
        self.note = QPlainTextEdit(self)
        self.note.setPlaceholderText(self.tr("What was done or told (optional)"))
        self.note.setTabChangesFocus(True)
        self.note.setMaximumHeight(90)
        what = (
            self.tr("{test} for {patient}").format(
                test=self.rows[0].test_name, patient=self.rows[0].patient_name
            )
            if len(self.rows) == 1
            else self.tr("%n normal final results", "", len(self.rows))
        )
        self.signature = QLabel(
            self.tr(
                "Your electronic signature will show: {name}, the date and time of signing, "
                "and the meaning chosen above."
            ).format(name=printed_name),
            self,
        )
        self.signature.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.tr("Results:"), QLabel(what, self))
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
        layout.addLayout(form)
        layout.addWidget(self.signature)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.meaning.setFocus()

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
