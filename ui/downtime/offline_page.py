"""Pages that need the server say so plainly while the station works offline.

The clinic-wide results board, the result worklist and admin changes read or write what
only the server has. :class:`OfflineGate` holds the real page and a plain explanation,
and shows the explanation while the mode is not online; the real page comes back by
itself when the server answers again (``came_online`` tells it to load afresh).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from labdesk.downtime.mode import Connectivity, StationMode, StationStatus
from ui.downtime.banner import ModeWatcher

NOT_AVAILABLE_OFFLINE = (
    "{what} is not available offline: it needs the server. Collection, labels, pickup "
    "scans and lab receipt keep working; this page comes back when the server answers."
)


class OfflineGate(QStackedWidget):
    """The real page online; a "not available offline" page otherwise.

    Args:
        what: names the page in the standard notice (:data:`NOT_AVAILABLE_OFFLINE`).
        notice: the notice's whole text instead, for a page with its own words.
    """

    came_online = Signal()
    """The page is shown again after the notice (what it shows may be stale)."""

    def __init__(
        self,
        inner: QWidget,
        what: str,
        mode: StationMode,
        parent: QWidget | None = None,
        *,
        notice: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.inner = inner
        self.notice = QWidget()
        layout = QVBoxLayout(self.notice)
        self.notice_label = QLabel(notice or NOT_AVAILABLE_OFFLINE.format(what=what))
        self.notice_label.setWordWrap(True)
        self.notice_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)
        layout.addWidget(self.notice_label)
        layout.addStretch(2)
        self.addWidget(inner)
        self.addWidget(self.notice)
        self.watcher = ModeWatcher(mode, self)
        self.watcher.changed.connect(self.set_status)
        self.set_status(mode.status())

    @property
    def offline(self) -> bool:
        """Whether the notice is shown instead of the page."""
        return self.currentWidget() is self.notice

    @Slot(object)
    def set_status(self, status: StationStatus) -> None:
        """Show the page online, the notice otherwise."""
        online = status.connectivity is Connectivity.ONLINE
        was_offline = self.offline
        self.setCurrentWidget(self.inner if online else self.notice)
        if online and was_offline:
            self.came_online.emit()
