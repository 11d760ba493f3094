"""The offline banner and the bridge that brings mode changes to the UI thread.

:class:`StationMode` calls its subscribers from whichever thread changed the status (the
heartbeat's, a command's worker). :class:`ModeWatcher` re-emits each status as a Qt signal,
so connected slots run on the UI thread through a queued connection.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from labdesk.domain.timefmt import format_local
from labdesk.downtime.mode import Connectivity, StationMode, StationStatus


def banner_text(status: StationStatus, tz: str = "") -> str:
    """The banner's words; empty while online with nothing to reconcile (hidden then)."""
    if status.connectivity is Connectivity.ONLINE:
        if not status.conflicts:
            return ""
        items = f"{status.conflicts} item{'s' if status.conflicts != 1 else ''}"
        return f"Offline work from the last outage: {items} to reconcile"
    waiting = f"{status.pending} action{'s' if status.pending != 1 else ''} waiting to be sent"
    if status.connectivity is Connectivity.SYNCING:
        text = f"Server is back: sending offline work ({waiting})"
    else:
        since = format_local(status.offline_since, tz, "%H:%M") or "now"
        text = f"Working offline since {since}: {waiting}"
    if status.conflicts:
        text += f"; {status.conflicts} to reconcile"
    return text


def indicator_text(status: StationStatus, now: datetime) -> str:
    """The status bar's short form: "Offline · 3 queued · replica 2 min old"."""
    parts = [
        {
            Connectivity.ONLINE: "Online",
            Connectivity.OFFLINE: "Offline",
            Connectivity.SYNCING: "Syncing…",
        }[status.connectivity]
    ]
    if status.pending:
        parts.append(f"{status.pending} queued")
    if status.conflicts:
        parts.append(f"{status.conflicts} to reconcile")
    if status.replica_refreshed_at is None:
        parts.append("replica not refreshed yet")
    else:
        parts.append(
            replica_age_text(max(0.0, (now - status.replica_refreshed_at).total_seconds()))
        )
    return " · ".join(parts)


def replica_age_text(seconds: float) -> str:
    """ "replica fresh", "replica 12 min old", "replica 3 h old", "replica 2 days old"."""
    minutes = int(seconds // 60)
    if minutes == 0:
        return "replica fresh"
    if minutes < 120:
        return f"replica {minutes} min old"
    hours = minutes // 60
    if hours < 48:
        return f"replica {hours} h old"
    return f"replica {hours // 24} days old"


class ModeWatcher(QObject):
    """Re-emits the mode's status changes (from any thread) on the UI thread."""

    changed = Signal(object)

    def __init__(self, mode: StationMode, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.mode = mode
        # emit() from a foreign thread is delivered queued to receivers living on the UI
        # thread (AutoConnection), so slots never run on the heartbeat thread.
        self._unsubscribe: Callable[[], None] | None = mode.subscribe(self.changed.emit)

    def status(self) -> StationStatus:
        """The current status (cheap)."""
        return self.mode.status()

    def stop(self) -> None:
        """Stop listening (the window closes)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


class OfflineBanner(QWidget):
    """A strip at the top of the main window while the station works offline, and while
    what it did offline still waits in the reconciliation worklist."""

    reconcile_requested = Signal()

    def __init__(self, tz: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tz = tz
        self.setObjectName("offlineBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            "#offlineBanner { background: #fff3cd; border-bottom: 1px solid #c9a227; }"
            "#offlineBanner QLabel { color: #5c4400; font-weight: bold; }"
        )
        self.label = QLabel()
        self.reconcile_button = QPushButton(self.tr("Open reconciliation worklist"))
        self.reconcile_button.clicked.connect(self.reconcile_requested)
        self.reconcile_button.hide()
        self.reconcile_available = False
        """Set when the reconciliation worklist page exists (the button leads there)."""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.reconcile_button)
        self.hide()

    @Slot(object)
    def set_status(self, status: StationStatus) -> None:
        """Show or hide the banner for ``status``."""
        text = banner_text(status, self._tz)
        self.label.setText(text)
        self.reconcile_button.setVisible(bool(status.conflicts) and self.reconcile_available)
        self.setVisible(bool(text))
