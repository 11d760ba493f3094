"""Choosing a new password (after an administrator set a temporary one, or at will)."""

from __future__ import annotations

from PySide6.QtCore import Signal
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

from labdesk.access.commands import ChangeOwnPassword
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.tasks import CommandOp
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel


class ChangePasswordDialog(QDialog):
    """Current password, new password twice; paste and "show" allowed (SP 800-63B)."""

    changed = Signal(object)  # the refreshed SignedInUser

    def __init__(
        self,
        context: AppContext,
        user: SignedInUser,
        parent: QWidget | None = None,
        *,
        required: bool = False,
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._user = user
        self.setWindowTitle(self.tr("Choose a new password"))
        intro = QLabel(
            self.tr("An administrator set your password: choose your own now. " if required else "")
            + self.tr(
                "Use at least 15 characters; a few unrelated words are easy to remember. "
                "No special characters are required."
            )
        )
        intro.setWordWrap(True)
        self.current_edit = QLineEdit()
        self.new_edit = QLineEdit()
        self.repeat_edit = QLineEdit()
        for edit, name in (
            (self.current_edit, self.tr("Current password")),
            (self.new_edit, self.tr("New password")),
            (self.repeat_edit, self.tr("New password again")),
        ):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setAccessibleName(name)
        self.show_check = QCheckBox(self.tr("Show passwords"))
        self.show_check.toggled.connect(self._show)
        self.message_label = MessageLabel()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(self.tr("&Current"), self.current_edit)
        form.addRow(self.tr("&New"), self.new_edit)
        form.addRow(self.tr("&Again"), self.repeat_edit)
        form.addRow("", self.show_check)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(self.buttons)

    def _show(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        for edit in (self.current_edit, self.new_edit, self.repeat_edit):
            edit.setEchoMode(mode)

    def submit(self) -> None:
        """Check and store in the background; the reason stays on screen when refused."""
        new = self.new_edit.text()
        if new != self.repeat_edit.text():
            self.message_label.show_error(self.tr("The two new passwords differ."))
            return
        command = ChangeOwnPassword(current_password=self.current_edit.text(), new_password=new)
        self.buttons.setEnabled(False)
        CommandOp(self._context.bus, command, self._user).run(
            self._changed, self._refused, owner=self
        )

    def _changed(self, user: SignedInUser) -> None:
        self.changed.emit(user)
        self.accept()

    def _refused(self, error: Exception) -> None:
        self.buttons.setEnabled(True)
        self.message_label.show_error(error_text(error))
