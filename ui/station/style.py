"""Restyle a widget only when its style sheet really changes.

``QWidget.setStyleSheet`` re-polishes the widget and its children even when given the text
it already has; on the station a scan used to call it about ten times (the step indicator,
the banner's badge, the status line) for no visible change, several milliseconds a scan.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def set_style(widget: QWidget, css: str) -> bool:
    """Give ``widget`` the style sheet ``css`` unless it has it already.

    Returns:
        True when the style sheet was changed.
    """
    if widget.styleSheet() == css:
        return False
    widget.setStyleSheet(css)
    return True
