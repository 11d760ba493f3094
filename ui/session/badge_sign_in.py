"""Badge + PIN fields of the sign-in window: scan the badge, type the PIN, press Enter."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLineEdit, QWidget


class BadgeSignInBox(QGroupBox):
    """Emits ``entered(badge, pin)``; the scanner's Enter moves on to the PIN."""

    entered = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Or scan your badge"))
        self.badge_edit = QLineEdit(self)
        self.badge_edit.setAccessibleName(self.tr("Badge"))
        self.badge_edit.setPlaceholderText(self.tr("scan the badge here"))
        self.pin_edit = QLineEdit(self)
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setAccessibleName(self.tr("PIN"))
        form = QFormLayout(self)
        form.addRow(self.tr("&Badge"), self.badge_edit)
        form.addRow(self.tr("P&IN"), self.pin_edit)
        self.badge_edit.returnPressed.connect(self.pin_edit.setFocus)
        self.pin_edit.returnPressed.connect(self._submit)

    def _submit(self) -> None:
        badge, pin = self.badge_edit.text().strip(), self.pin_edit.text()
        if badge and pin:
            self.entered.emit(badge, pin)

    def clear(self) -> None:
        """Forget what was scanned and typed."""
        self.badge_edit.clear()
        self.pin_edit.clear()
