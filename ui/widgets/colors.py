"""Row backgrounds shared by every table: warning (amber), error (red), ok (green)."""

from __future__ import annotations

from PySide6.QtGui import QColor

WARNING_BACKGROUND = QColor("#fff1d6")
ERROR_BACKGROUND = QColor("#ffd7dc")
OK_BACKGROUND = QColor("#dff3e4")
