"""An inline status line that shows information or an error (never a modal box).

Also :func:`elide_long_runs`, for every label that echoes what a scanner sent.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QWidget

ERROR_COLOUR = QColor("#b00020")
ECHO_LIMIT = 60
"""Longest run of non-space characters a label echoes in full."""
_RUN = re.compile(r"\S+")


def elide_long_runs(text: str, limit: int = ECHO_LIMIT) -> str:
    """Shorten every run of more than ``limit`` non-space characters to its two ends.

    A scanner (or a stuck key) can send thousands of characters without a space; a
    word-wrapped label cannot break such a run, so echoed in full it grows as wide as the
    run (a 3,000-digit scan made the courier window 29,449 px wide). The ends stay, so the
    start of what was scanned is still recognisable; messages say how long it was.
    """
    keep = max(1, (limit - 1) // 2)

    def shorten(match: re.Match[str]) -> str:
        run = match.group(0)
        return run if len(run) <= limit else f"{run[:keep]}…{run[-keep:]}"

    return _RUN.sub(shorten, text)


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
