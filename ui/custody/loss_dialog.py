"""Report a specimen lost: choose a coded loss reason (a note required for "other")."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from labdesk.domain.loss import NOTE_MAX, LossReason


class LossDialog(QDialog):
    """Choose why a specimen is lost and say what happened.

    No reason is chosen for the user (OK stays disabled until one is, and, for "other",
    until the note says what happened): a wrong default would be recorded unnoticed.
    """

    def __init__(self, accession: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Report {accession} lost").format(accession=accession))
        self.reason = QComboBox(self)
        for reason in LossReason:
            self.reason.addItem(reason.label, reason)
        self.reason.setPlaceholderText(self.tr("Choose the reason…"))
        self.reason.setCurrentIndex(-1)
        self.note = QLineEdit(self)
        self.note.setMaxLength(NOTE_MAX)
        self.hint = QLabel(self)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.reason.currentIndexChanged.connect(self._enable)
        self.note.textChanged.connect(self._enable)
        form = QFormLayout(self)
        form.addRow(
            QLabel(
                self.tr("{accession} is reported lost and its recollection requested.").format(
                    accession=accession
                ),
                self,
            )
        )
        form.addRow(self.tr("Reason"), self.reason)
        form.addRow(self.tr("Note"), self.note)
        form.addRow(self.hint)
        form.addRow(self.buttons)
        self._enable()

    @property
    def ok_button(self) -> QPushButton:
        """The OK button (enabled once the choice is complete)."""
        button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None
        return button

    def _chosen(self) -> LossReason | None:
        index = self.reason.currentIndex()
        return LossReason(self.reason.itemData(index)) if index >= 0 else None

    def _complete(self) -> bool:
        reason = self._chosen()
        return reason is not None and (not reason.needs_note or bool(self.note.text().strip()))

    def _enable(self) -> None:
        reason = self._chosen()
        needs_note = reason is not None and reason.needs_note
        self.note.setPlaceholderText(
            self.tr("Say what happened (required)") if needs_note else self.tr("Optional")
        )
        self.hint.setText(
            self.tr("'Other' needs a note saying what happened.")
            if needs_note and not self.note.text().strip()
            else ""
        )
        self.ok_button.setEnabled(self._complete())

    def accept(self) -> None:
        """Accept only a complete choice (Enter in the note field must not skip choosing)."""
        if self._complete():
            super().accept()

    def choice(self) -> tuple[LossReason, str]:
        """The chosen reason and note."""
        reason = self._chosen()
        assert reason is not None
        return reason, self.note.text().strip()


def ask_loss(parent: QWidget, accession: str) -> tuple[LossReason, str] | None:
    """Run the loss dialog; None when cancelled."""
    dialog = LossDialog(accession, parent)
    return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None
