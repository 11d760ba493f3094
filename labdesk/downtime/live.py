"""Live updates that follow the station's mode: the server's feed online, the file's offline.

Online, the screens read the server and hear its changes through the server's feed
(``LISTEN``). Offline (and while syncing) they read the replica in the station file, where
the offline work lands too, so the changes that matter come from that file: a collection
at the station tab must reach the courier pickup tab and the print queue without F5.
:class:`DowntimeChangeFeed` is one :class:`~labdesk.kernel.changes.ChangeFeed` for the
app that switches with :meth:`~labdesk.downtime.mode.StationMode.subscribe`:

- **going offline** starts a fresh station-file feed (a feed cannot be restarted, hence the
  factory). The screens keep what they show until a change arrives: a forced reload here
  would swap a visit opened a moment ago on the server for a replica that may not hold it
  yet (it is refreshed once a minute).
- **offline**, the station feed's batches pass and the server feed's are dropped (screens
  read the replica, which the server's changes do not reach until the resync). The state
  shown is the station feed's: the server feed's RECONNECTING would otherwise leave every
  page saying "Reconnecting to the server…" for the whole outage, beside the offline
  banner, while the screens are in fact live from the replica.
- **back online** (after the resync: the server holds the offline work) the station feed
  is let go, the state is the server feed's again, and one ``resync=True`` batch reloads
  every screen from the server.

Batches and states of a station feed that was let go are ignored, so a late batch from the
file never lands after the resync. Stopping that feed may wait for its thread (up to a
second on a busy file) and the mode calls its subscribers while holding its own lock, so
by default it is stopped on a short-lived thread; :meth:`DowntimeChangeFeed.stop` (at exit)
stops both feeds before it returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from labdesk.downtime.mode import Connectivity, StationStatus
from labdesk.kernel.changes import ChangeBatch, ChangeFeed, FeedState, OnChanges, OnState

logger = logging.getLogger(__name__)

Release = Callable[[ChangeFeed], None]
"""Stops a station feed that is no longer wanted."""


class ModeEvents(Protocol):
    """What this feed needs of :class:`~labdesk.downtime.mode.StationMode`: its status."""

    def status(self) -> StationStatus:
        """The current status."""
        ...

    def subscribe(self, callback: Callable[[StationStatus], None]) -> Callable[[], None]:
        """Call ``callback`` (from any thread) on every status change; returns unsubscribe."""
        ...


def stop_in_background(feed: ChangeFeed) -> None:
    """Stop ``feed`` on a daemon thread: the caller (the mode's subscriber) never waits."""
    threading.Thread(target=feed.stop, name="labdesk-station-feed-stop", daemon=True).start()


class DowntimeChangeFeed:
    """The server's feed online, a station-file feed offline (see the module docstring).

    Args:
        server: the server's feed (started with this one, stopped with it).
        mode: the station's mode; its status decides which feed the screens hear.
        open_station: a new, unstarted feed on the station file (called at each outage).
        release: stops a station feed once the station is online again.
    """

    def __init__(
        self,
        server: ChangeFeed,
        mode: ModeEvents,
        open_station: Callable[[], ChangeFeed],
        *,
        release: Release = stop_in_background,
    ) -> None:
        self._server = server
        self._mode = mode
        self._open_station = open_station
        self._release = release
        # Held while the screens' callbacks run, so states and batches reach them in the
        # order decided here; re-entrant for a callback that calls back (stop at exit).
        self._lock = threading.RLock()
        self._switch_lock = threading.Lock()  # one mode transition at a time
        self._on_changes: OnChanges | None = None
        self._on_state: OnState | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._offline = False
        self._stopped = False
        self._station: ChangeFeed | None = None
        self._generation = 0
        self._server_state: FeedState | None = None
        self._station_state: FeedState | None = None
        self._reported: FeedState | None = None
        self.station_feeds = 0
        """Station-file feeds started so far (one per outage)."""

    @property
    def offline(self) -> bool:
        """Whether the screens hear the station file (the station is offline or syncing)."""
        with self._lock:
            return self._offline

    @property
    def statements(self) -> int:
        """SQL statements run by the server's feed and the current station feed."""
        with self._lock:
            feeds = [self._server, self._station]
        return sum(int(getattr(feed, "statements", 0)) for feed in feeds if feed is not None)

    # ------------------------------------------------------------------ lifecycle

    def start(self, on_changes: OnChanges, on_state: OnState) -> None:
        """Start the server's feed, and the station feed when the station is offline.

        Raises:
            RuntimeError: if the feed was already started.
        """
        with self._lock:
            if self._on_changes is not None:
                raise RuntimeError("this change feed was already started")
            self._on_changes, self._on_state = on_changes, on_state
        # Subscribe before reading the status, so no transition falls in between.
        self._unsubscribe = self._mode.subscribe(self._mode_changed)
        self._server.start(self._from_server_batch, self._from_server_state)
        self._mode_changed(self._mode.status())

    def stop(self) -> None:
        """Stop both feeds and stop following the mode (idempotent; waits for the feeds)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._generation += 1
            station, self._station = self._station, None
            unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
        try:
            if station is not None:
                station.stop()
        finally:
            self._server.stop()
            with self._lock:
                self._report(FeedState.STOPPED)

    # ------------------------------------------------------------------ the mode

    def _mode_changed(self, status: StationStatus) -> None:
        offline = status.connectivity is not Connectivity.ONLINE
        with self._switch_lock:
            with self._lock:
                if self._stopped or offline is self._offline:
                    return
                self._offline = offline
                self._generation += 1
                generation = self._generation
                old, self._station = self._station, None
                self._station_state = None
                if not offline:
                    self._report(self._server_state)
                    # The server holds the offline work now: every screen shows it again.
                    self._deliver(ChangeBatch(resync=True))
            if old is not None:
                self._release(old)
            if offline:
                self._go_offline(generation)

    def _go_offline(self, generation: int) -> None:
        """Start a station-file feed for this outage (``generation``)."""
        try:
            feed = self._open_station()
            with self._lock:
                if generation != self._generation:
                    return  # stopped meanwhile
                self._station = feed
                self.station_feeds += 1
            feed.start(
                lambda batch: self._from_station_batch(generation, batch),
                lambda state: self._from_station_state(generation, state),
            )
        except Exception:
            # Screens then say they may be out of date; F5 still reads the replica.
            logger.exception("live updates from the station file unavailable")
            self._from_station_state(generation, FeedState.RECONNECTING)
        else:
            logger.info("live updates follow the station file while offline")

    # ------------------------------------------------------------------ the feeds' threads

    def _from_server_batch(self, batch: ChangeBatch) -> None:
        with self._lock:
            if not self._offline and not self._stopped:
                self._deliver(batch)

    def _from_server_state(self, state: FeedState) -> None:
        with self._lock:
            self._server_state = state
            if not self._offline and not self._stopped:
                self._report(state)

    def _from_station_batch(self, generation: int, batch: ChangeBatch) -> None:
        with self._lock:
            if generation == self._generation and not self._stopped:
                self._deliver(batch)

    def _from_station_state(self, generation: int, state: FeedState) -> None:
        with self._lock:
            if generation != self._generation or self._stopped:
                return
            self._station_state = state
            self._report(state)

    # ------------------------------------------------------------------ to the screens

    def _deliver(self, batch: ChangeBatch) -> None:
        """Hand ``batch`` on (caller holds the lock)."""
        if self._on_changes is None:
            return
        try:
            self._on_changes(batch)
        except Exception:
            logger.exception("a live-update receiver failed")

    def _report(self, state: FeedState | None) -> None:
        """Tell a new state (caller holds the lock); None: not known yet, keep the last."""
        if state is None or state is self._reported or self._on_state is None:
            return
        self._reported = state
        try:
            self._on_state(state)
        except Exception:
            logger.exception("a live-update state receiver failed")
