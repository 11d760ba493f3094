"""Turning exceptions into text a user can act on (known errors vs bugs), and auditing denials."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication

from labdesk.domain.errors import LabdeskError

logger = logging.getLogger(__name__)

DenialRecorder = Callable[[BaseException], object]
"""Writes the audit entry of a role denial (``labdesk.kernel.audit.record_if_denied``)."""

# Module state on purpose, like sys.excepthook: run_in_background, every screen's way into
# the core, takes no context, so the composition root (ui/app.py) installs the recorder
# bound to its core once the database is connected, and removes it before closing it.
_recorder: list[DenialRecorder] = []


def error_text(error: BaseException) -> str:
    """One paragraph for an inline error label or a message box.

    A ``LabdeskError`` says what is wrong and how to fix it; anything else is a bug, so the
    text says so instead of showing a raw exception as if it were advice.
    """
    if isinstance(error, LabdeskError):
        return f"{error.message} {error.hint}".strip()
    return QCoreApplication.translate(
        "errors",
        "Unexpected error ({name}): {error}. This is a bug in LabDesk; details are in the log.",
    ).format(name=type(error).__name__, error=error)


def install_denial_recorder(recorder: DenialRecorder | None) -> None:
    """Audit role denials of background jobs with ``recorder`` (None: stop auditing them)."""
    _recorder[:] = [] if recorder is None else [recorder]


def audit_denial(error: BaseException) -> None:
    """Hand a failed job's error to the installed recorder (it ignores all but denials).

    Called by :mod:`ui.tasks` on the pool thread the job ran on, after the job's unit of
    work rolled back, so the entry is written in a transaction of its own, off the UI
    thread, whether or not a screen shows the error.
    """
    for recorder in list(_recorder):
        try:
            recorder(error)
        except Exception:  # never let auditing hide the job's own error
            logger.exception("auditing %s failed", type(error).__name__)
