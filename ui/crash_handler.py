"""Last-resort handling of uncaught exceptions: log them, then tell the user.

The split follows qutebrowser's ``misc/sql.py``: a ``LabdeskError`` that escaped is a known
failure and gets its message and hint; anything else is a bug and gets a crash dialog with
the traceback to hand to support.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from labdesk.domain.errors import LabdeskError
from ui.widgets.errors import error_text

logger = logging.getLogger(__name__)


class CrashHandler:
    """A ``sys.excepthook`` that logs and shows a dialog (never two at once)."""

    def __init__(self) -> None:
        self._showing = False

    def install(self) -> None:
        """Make this the process's exception hook."""
        sys.excepthook = self.handle

    def handle(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        """Log ``exc`` and show it, unless it is Ctrl+C in a terminal."""
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        if isinstance(exc, LabdeskError):
            logger.error("unhandled %s: %s", exc_type.__name__, exc, exc_info=(exc_type, exc, tb))
        else:
            logger.critical("uncaught exception (a bug)", exc_info=(exc_type, exc, tb))
        # No dialog without a GUI, nor while one is already open (an error in the
        # dialog itself would otherwise recurse).
        if self._showing or not isinstance(QApplication.instance(), QApplication):
            return
        self._showing = True
        try:
            self._show(exc, "".join(traceback.format_exception(exc_type, exc, tb)))
        finally:
            self._showing = False

    def _show(self, exc: BaseException, details: str) -> None:
        box = QMessageBox()
        box.setWindowTitle(QCoreApplication.translate("CrashHandler", "LabDesk"))
        if isinstance(exc, LabdeskError):
            box.setIcon(QMessageBox.Icon.Warning)
            box.setText(error_text(exc))
        else:
            box.setIcon(QMessageBox.Icon.Critical)
            box.setText(
                QCoreApplication.translate(
                    "CrashHandler",
                    "LabDesk hit a bug. Your last action may not have been completed: check "
                    "it before going on.",
                )
            )
            box.setInformativeText(
                QCoreApplication.translate(
                    "CrashHandler",
                    "Please report it to your administrator with the details below.",
                )
            )
            box.setDetailedText(details)
        box.exec()
