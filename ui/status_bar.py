"""Status bar: who is signed in, at which station, on which database, live updates, printer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from labdesk.downtime.mode import Connectivity, StationStatus
from labdesk.kernel.changes import FeedState
from labdesk.kernel.dto import SignedInUser
from ui.navigation import role_label
from ui.widgets.message_label import ERROR_COLOUR

AGE_REFRESH_MS = 30_000
"""How often the replica's age is redrawn between status changes."""


class StatusBar(QStatusBar):
    """Permanent fields on the right; transient messages keep the left."""

    def __init__(
        self,
        user: SignedInUser,
        station_code: str,
        database_description: str,
        label_printer_uri: str,
        parent: QWidget | None = None,
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(parent)
        self._now = now or (lambda: datetime.now(UTC))
        """The app's clock, for the replica's age."""
        self._station_status: StationStatus | None = None
        self._age_timer = QTimer(self)
        self._age_timer.setInterval(AGE_REFRESH_MS)
        self._age_timer.timeout.connect(self._show_station_status)
        self.user_label = QLabel(
            self.tr("{name} ({role})").format(name=user.display_name, role=role_label(user.role))
        )
        self.station_label = QLabel(self.tr("Station {code}").format(code=station_code))
        self.database_label = QLabel(database_description)
        self.database_label.setToolTip(self.tr("Database"))
        self.live_label = QLabel()
        self.live_label.setToolTip(self.tr("Whether changes made at other stations show here"))
        self.live_label.hide()  # shown once the app's change feed reports a state
        self.mode_label = QLabel()
        self.mode_label.setToolTip(self.tr("Server connection, offline work waiting, replica age"))
        self.mode_label.hide()  # shown once a downtime mode reports (PostgreSQL stations)
        self.printer_label = QLabel()
        self._printer_palette = self.printer_label.palette()
        for label in (
            self.user_label,
            self.station_label,
            self.database_label,
            self.live_label,
            self.mode_label,
            self.printer_label,
        ):
            label.setContentsMargins(8, 2, 8, 2)
            self.addPermanentWidget(label)
        self.set_printer_state(
            self.tr("Label printer: {uri}").format(
                uri=label_printer_uri or self.tr("not configured")
            ),
            ok=bool(label_printer_uri),
        )

    @Slot(str, bool)
    def set_printer_state(self, text: str, ok: bool) -> None:
        """Show the label printer's state; red when it needs attention."""
        palette = QPalette(self._printer_palette)
        if not ok:
            palette.setColor(QPalette.ColorRole.WindowText, ERROR_COLOUR)
        self.printer_label.setPalette(palette)
        self.printer_label.setText(text)

    @Slot(object)
    def set_feed_state(self, state: FeedState) -> None:
        """Show whether live updates arrive: "Live", or "Reconnecting…" in red."""
        palette = QPalette(self._printer_palette)
        if state is FeedState.LIVE:
            text = self.tr("Live")
        elif state is FeedState.RECONNECTING:
            text = self.tr("Reconnecting…")
            palette.setColor(QPalette.ColorRole.WindowText, ERROR_COLOUR)
        else:
            text = self.tr("Live updates off")
        self.live_label.setPalette(palette)
        self.live_label.setText(text)
        self.live_label.show()

    @Slot(object)
    def set_station_status(self, status: StationStatus) -> None:
        """Show online / offline / syncing, outbox depth and replica age; red offline.

        The age is recomputed every half minute until the next status arrives.
        """
        self._station_status = status
        self._age_timer.start()
        self._show_station_status()

    def _show_station_status(self) -> None:
        from ui.downtime.banner import indicator_text

        status = self._station_status
        if status is None:
            return
        palette = QPalette(self._printer_palette)
        if status.connectivity is not Connectivity.ONLINE:
            palette.setColor(QPalette.ColorRole.WindowText, ERROR_COLOUR)
        self.mode_label.setPalette(palette)
        self.mode_label.setText(indicator_text(status, self._now()))
        self.mode_label.setToolTip(status.reason or self.tr("Connected to the server"))
        self.mode_label.show()
