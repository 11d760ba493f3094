"""Dialogs of the result worklist: match a result to an ordered test, or dismiss it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.interface.worklist import MatchCandidate, UnmatchedRow
from ui.results.worklist_models import CandidateTableModel
from ui.widgets.table_view import sorting_table_view

REASON_MAX = 200


@dataclass(frozen=True)
class MatchChoice:
    """What the person picked: a listed test, or a specimen and test code typed in."""

    ordered_test_id: int | None = None
    accession: str = ""
    test_code: str = ""


def _plain_label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)  # the reason quotes what the lab sent
    label.setWordWrap(True)
    return label


class MatchDialog(QDialog):
    """Pick the ordered test a result belongs to (listed, or by accession and test code)."""

    def __init__(
        self,
        row: UnmatchedRow,
        candidates: Sequence[MatchCandidate],
        timezone: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.row = row
        self.setWindowTitle(self.tr("Match result {test} for {mrn}").format(
            test=row.test_code, mrn=row.patient_mrn))  # fmt: skip
        self.resize(760, 420)
        self.model = CandidateTableModel(timezone, self)
        self.model.set_rows(candidates)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.table.doubleClicked.connect(lambda _index: self._accept())
        self.accession_edit = QLineEdit(self)
        self.accession_edit.setPlaceholderText(self.tr("Specimen ID (10 digits)"))
        self.accession_edit.setMaxLength(40)
        self.code_edit = QLineEdit(self)
        self.code_edit.setPlaceholderText(self.tr("Test code, e.g. K, or its LOINC code"))
        self.code_edit.setMaxLength(32)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.match_button: QPushButton = buttons.addButton(
            self.tr("&Match"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        typed = QFormLayout()
        typed.addRow(self.tr("Specimen ID:"), self.accession_edit)
        typed.addRow(self.tr("Test code:"), self.code_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(_plain_label(self._explanation(), self))
        layout.addWidget(QLabel(self.tr("The patient's open tests:"), self))
        layout.addWidget(self.table, 1)
        layout.addWidget(QLabel(self.tr("Or type the specimen and the test:"), self))
        layout.addLayout(typed)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        named = [n for n, c in enumerate(candidates) if c.named]
        if named:  # a discrepancy's own test; otherwise the person picks, nothing is preset
            self.select_candidate(named[0])
        self.table.setFocus()

    def _explanation(self) -> str:
        text = self.tr("Why it is here: {reason}").format(reason=self.row.reason)
        if self.row.is_discrepancy:
            text += "\n" + self.tr(
                "Matching applies the result despite the lab's rejection or loss: "
                "your decision is recorded in the audit log."
            )
        return text

    def select_candidate(self, source_row: int) -> None:
        """Select the listed test in ``source_row`` of the model."""
        proxy = self.table.model()  # the sorting proxy of sorting_table_view
        index = proxy.mapFromSource(self.model.index(source_row, 0))  # type: ignore[attr-defined]
        self.table.selectionModel().select(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )

    def choice(self) -> MatchChoice | None:
        """The typed specimen and test when both are given, else the selected test."""
        accession, code = self.accession_edit.text().strip(), self.code_edit.text().strip()
        if accession or code:
            return MatchChoice(accession=accession, test_code=code) if accession and code else None
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        source = self.table.model().mapToSource(rows[0])  # type: ignore[attr-defined]
        return MatchChoice(ordered_test_id=self.model.row_at(source.row()).ordered_test_id)

    def _accept(self) -> None:
        if self.choice() is None:
            self.error.setText(
                self.tr(
                    "Select a test in the list, or type both the specimen ID and the test code."
                )
            )
            return
        self.accept()


class DismissDialog(QDialog):
    """Close a worklist row without a match; the reason is required and kept."""

    def __init__(self, row: UnmatchedRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.row = row
        self.setWindowTitle(self.tr("Dismiss result {test} for {mrn}").format(
            test=row.test_code, mrn=row.patient_mrn))  # fmt: skip
        consequence = (
            self.tr(
                "The result is not applied: the lab's rejection or loss stands and the "
                "test keeps its status. The board's discrepancy flag clears."
            )
            if row.is_discrepancy
            else self.tr("The result is not applied to any test.")
        )
        self.reason_edit = QPlainTextEdit(self)
        self.reason_edit.setPlaceholderText(
            self.tr("Why (required), e.g. 'not our patient' or 'lab confirmed the rejection'")
        )
        self.reason_edit.setTabChangesFocus(True)
        self.reason_edit.setMaximumHeight(90)
        self.reason_edit.textChanged.connect(self._changed)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #b00020")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.dismiss_button: QPushButton = buttons.addButton(
            self.tr("&Dismiss"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.dismiss_button.setEnabled(False)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(_plain_label(row.reason, self))
        layout.addWidget(_plain_label(consequence, self))
        label = QLabel(self.tr("&Reason:"), self)
        label.setBuddy(self.reason_edit)
        layout.addWidget(label)
        layout.addWidget(self.reason_edit)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.reason_edit.setFocus()

    def reason(self) -> str:
        """The reason typed."""
        return self.reason_edit.toPlainText().strip()

    def _changed(self) -> None:
        self.dismiss_button.setEnabled(bool(self.reason()))
        self.error.clear()

    def _accept(self) -> None:
        if not self.reason():
            self.error.setText(self.tr("Say why the result is dismissed."))
            return
        if len(self.reason()) > REASON_MAX:
            self.error.setText(
                self.tr("The reason is too long ({n} characters); at most {max} fit.").format(
                    n=len(self.reason()), max=REASON_MAX
                )
            )
            return
        self.accept()
