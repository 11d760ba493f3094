"""The cancel-recollection dialog of the clinician board: a reason, and whether the tests go.

Cancelling a recollection is a clinician's decision (:data:`labdesk.station.recollection.
CANCEL_PERMISSION`), so the board offers it on a rejected or lost test's row. Tests replace
:func:`ask_cancel` (a module attribute), as they do with ``QMessageBox`` statics.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class CancelAnswer:
    """What the clinician entered."""

    reason: str
    cancel_tests: bool


class CancelRecollectionDialog(QDialog):
    """Why the rejected or lost tests are not drawn again; tick to cancel them as well."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Cancel recollection"))
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setPlaceholderText(self.tr("e.g. result no longer needed"))
        self.tests_check = QCheckBox(self.tr("&Cancel these tests as well"), self)
        self.tests_check.setToolTip(
            self.tr("Unticked, the tests stay on the board until you acknowledge them.")
        )
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(self.tr("Recollection"), QLabel(what, self))
        form.addRow(self.tr("&Why"), self.reason_edit)
        form.addRow("", self.tests_check)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(520, 160)

    def answer(self) -> CancelAnswer:
        """What was entered."""
        return CancelAnswer(self.reason_edit.text().strip(), self.tests_check.isChecked())


def ask_cancel(parent: QWidget, what: str) -> CancelAnswer | None:
    """Run the dialog for the recollection described by ``what``; None to keep it."""
    dialog = CancelRecollectionDialog(what, parent)
    return dialog.answer() if dialog.exec() == QDialog.DialogCode.Accepted else None
