"""Turning exceptions into text a user can act on (known errors vs bugs)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from labdesk.domain.errors import LabdeskError


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
