"""Break-glass: ask why and for the password, then open an emergency session."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from labdesk.access.commands import StartEmergencyAccess
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.tasks import CommandOp
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel


class EmergencyAccessDialog(QDialog):
    """Reason + password; on success ``granted`` carries the widened session."""

    granted = Signal(object)  # SignedInUser with emergency set

    def __init__(self, context: AppContext, user: SignedInUser, parent: QWidget | None = None):
        super().__init__(parent)
        self._context = context
        self._user = user
        self.setWindowTitle(self.tr("Emergency access"))
        warning = QLabel(
            self.tr(
                "Emergency access lets you see patient names and results your role does not "
                "normally show. The reason and everything you do are recorded and reviewed "
                "by an administrator. Do not enter patient names in the reason."
            )
        )
        warning.setWordWrap(True)
        self.reason_edit = QPlainTextEdit()
        self.reason_edit.setAccessibleName(self.tr("Reason"))
        self.reason_edit.setPlaceholderText(self.tr("Why is access needed now?"))
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName(self.tr("Password"))
        self.message_label = MessageLabel()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(self.tr("&Reason"), self.reason_edit)
        form.addRow(self.tr("Your &password"), self.password_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(warning)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        """Check in the background; stay open with the reason on failure."""
        reason, password = self.reason_edit.toPlainText(), self.password_edit.text()
        command = StartEmergencyAccess(reason=reason, password=password)
        self.buttons.setEnabled(False)
        CommandOp(self._context.bus, command, self._user).run(
            self._granted, self._refused, owner=self
        )

    def _granted(self, user: SignedInUser) -> None:
        self.granted.emit(user)
        self.accept()

    def _refused(self, error: Exception) -> None:
        self.buttons.setEnabled(True)
        self.password_edit.clear()
        self.message_label.show_error(error_text(error))
