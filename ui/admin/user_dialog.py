"""The form an administrator fills in to create a user."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from labdesk.access.users import NewUser
from ui.admin.role_combo import RoleComboBox


class NewUserDialog(QDialog):
    """User name, name, role, temporary password, optional badge and PIN."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Add user"))
        self.username_edit = QLineEdit()
        self.name_edit = QLineEdit()
        self.role_combo = RoleComboBox()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.badge_edit = QLineEdit()
        self.badge_edit.setPlaceholderText(self.tr("optional: scan the badge"))
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setPlaceholderText(self.tr("optional: 6 to 12 digits"))
        form = QFormLayout()
        form.addRow(self.tr("&User name"), self.username_edit)
        form.addRow(self.tr("&Name"), self.name_edit)
        form.addRow(self.tr("&Role"), self.role_combo)
        form.addRow(self.tr("Temporary &password"), self.password_edit)
        form.addRow(self.tr("&Badge"), self.badge_edit)
        form.addRow(self.tr("P&IN"), self.pin_edit)
        note = QLabel(
            self.tr(
                "The user chooses their own password at the first sign-in. Passwords need at "
                "least 15 characters; common and breached ones are refused."
            )
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def new_user(self) -> NewUser:
        """What was entered (checked by the service, which says what is wrong)."""
        return NewUser(
            username=self.username_edit.text(),
            display_name=self.name_edit.text(),
            role=self.role_combo.role(),
            password=self.password_edit.text(),
            badge_id=self.badge_edit.text(),
            pin=self.pin_edit.text(),
        )
