"""An inline status line that shows information or an error (never a modal box)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QWidget

ERROR_COLOUR = QColor("#b00020")


class MessageLabel(QLabel):
    """Word-wrapped, selectable text; red while it shows an error."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)  # error text may contain user input
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._normal = self.palette()
        self.is_error = False

    def show_info(self, text: str) -> None:
        """Show ``text`` in the normal colour."""
        self.is_error = False
        self.setPalette(self._normal)
        self.setText(text)

    def show_error(self, text: str) -> None:
        """Show ``text`` as an error."""
        self.is_error = True
        palette = QPalette(self._normal)
        palette.setColor(QPalette.ColorRole.WindowText, ERROR_COLOUR)
        self.setPalette(palette)
        self.setText(text)
