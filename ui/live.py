"""Live updates on screen: one change feed per app, its batches re-emitted on the UI thread.

The feed (``labdesk.kernel.changes.ChangeFeed``: PostgreSQL LISTEN/NOTIFY or the SQLite
file watcher) calls back on its own thread. :class:`LiveUpdates` turns those calls into
queued signals, so every slot runs on the UI thread, and remembers the feed's state.

A screen subscribes with :meth:`LiveUpdates.watch` (or ``Page.watch_changes``): a
:class:`LiveView` reloads the screen when a batch touches one of its topics and the screen
is visible; a hidden screen is only marked stale and reloads when it is shown again. A
resync (after a reconnect: anything may have changed) reloads every screen the same way.
Loads never overlap: while one runs (until the screen's ``finished`` signal, or its
``failed`` one: a screen whose load failed keeps what it showed and says why), further
batches are folded into one reload after it. The feed coalesces changes (0.2 s), so a
burst of 100 HL7 results gives a handful of batches and as many reloads at most.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, Signal, SignalInstance, Slot
from PySide6.QtWidgets import QWidget

from labdesk.kernel.changes import ChangeBatch, ChangeFeed, FeedState, Topic

logger = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 30.0
"""A load that has not said it finished after this long (it failed quietly) no longer
blocks the next one."""


class LiveUpdates(QObject):
    """Owns the app's change feed; emits its batches and states on the UI thread."""

    changes = Signal(object)
    """A :class:`ChangeBatch`, on the UI thread."""
    state_changed = Signal(object)
    """The feed's new :class:`FeedState`, on the UI thread."""
    _batch_arrived = Signal(object)
    _state_arrived = Signal(object)

    def __init__(self, feed: ChangeFeed, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._feed = feed
        self._started = False
        self.state = FeedState.STOPPED
        """The last state the feed reported (STOPPED before start and after stop)."""
        self.batches = 0
        """Batches delivered so far (for the benchmarks and tests)."""
        # Emitted on the feed's thread, delivered on this object's (the UI) thread.
        self._batch_arrived.connect(self._deliver_batch, Qt.ConnectionType.QueuedConnection)
        self._state_arrived.connect(self._deliver_state, Qt.ConnectionType.QueuedConnection)

    @property
    def feed(self) -> ChangeFeed:
        """The feed itself (the idle benchmark reads its statement count)."""
        return self._feed

    @property
    def live(self) -> bool:
        """True while the feed hears changes (screens may drop their fast polling)."""
        return self.state is FeedState.LIVE

    def start(self) -> None:
        """Start the feed (idempotent); its callbacks come back through queued signals."""
        if self._started:
            return
        self._started = True
        self._feed.start(self._from_feed_batch, self._from_feed_state)

    def stop(self) -> None:
        """Stop the feed and release its connection (idempotent)."""
        if not self._started:
            return
        self._started = False
        try:
            self._feed.stop()
        finally:
            self._set_state(FeedState.STOPPED)

    def watch(
        self,
        widget: QWidget,
        topics: Iterable[Topic],
        reload: Callable[[], Any],
        *,
        finished: SignalInstance | None = None,
        failed: SignalInstance | None = None,
    ) -> LiveView:
        """Reload ``widget`` (by calling ``reload``) when one of ``topics`` changes.

        Args:
            widget: the screen or panel; it owns the returned view.
            topics: what it shows.
            reload: starts a load (a background query); it should not block.
            finished: a signal the widget emits when a load has been shown; given, loads
                never overlap (without it ``reload`` must queue by itself).
            failed: a signal the widget emits when a load failed (it keeps its rows and
                shows the error); the next change then reloads at once instead of waiting
                for :data:`LOAD_TIMEOUT_S`.
        """
        return LiveView(self, widget, topics, reload, finished=finished, failed=failed)

    # ------------------------------------------------------------ feed thread

    def _from_feed_batch(self, batch: ChangeBatch) -> None:
        if shiboken6.isValid(self):
            self._batch_arrived.emit(batch)

    def _from_feed_state(self, state: FeedState) -> None:
        if shiboken6.isValid(self):
            self._state_arrived.emit(state)

    # ------------------------------------------------------------ UI thread

    @Slot(object)
    def _deliver_batch(self, batch: ChangeBatch) -> None:
        if not self._started:
            return  # stopped meanwhile: the app is closing
        self.batches += 1
        self.changes.emit(batch)

    @Slot(object)
    def _deliver_state(self, state: FeedState) -> None:
        if self._started:
            self._set_state(state)

    def _set_state(self, state: FeedState) -> None:
        if state is self.state:
            return
        logger.info("live updates: %s", state.value)
        self.state = state
        self.state_changed.emit(state)


class LiveView(QObject):
    """One screen's subscription: reload when shown and touched, never two loads at once."""

    reload_started = Signal()

    def __init__(
        self,
        live: LiveUpdates,
        widget: QWidget,
        topics: Iterable[Topic],
        reload: Callable[[], Any],
        *,
        finished: SignalInstance | None = None,
        failed: SignalInstance | None = None,
    ) -> None:
        super().__init__(widget)
        self._widget = widget
        self.topics = frozenset(topics)
        self._reload = reload
        self._gated = finished is not None
        self.stale = False
        """A change touched the screen while it was hidden: reload when it is shown."""
        self.loading = False
        self._again = False
        self._started_at = 0.0
        self.reloads = 0
        """Reloads this view started (tests and benchmarks count them)."""
        self.failures = 0
        """Reloads the screen said failed."""
        if finished is not None:
            finished.connect(self.load_finished)
        if failed is not None:
            failed.connect(self.load_failed)
        live.changes.connect(self._changed)
        widget.installEventFilter(self)

    def _changed(self, batch: ChangeBatch) -> None:
        if batch.touches(self.topics):
            self.request()

    def request(self) -> None:
        """Reload now if the screen is visible, else when it is next shown."""
        if not self._widget.isVisible():
            self.stale = True
            return
        if self.loading and time.monotonic() - self._started_at < LOAD_TIMEOUT_S:
            self._again = True
            return
        self._start()

    def _start(self) -> None:
        self.stale = False
        self._again = False
        self.loading = self._gated
        self._started_at = time.monotonic()
        self.reloads += 1
        self.reload_started.emit()
        self._reload()

    @Slot()
    def load_finished(self, *_args: object) -> None:
        """The screen has shown a load: start the one asked for meanwhile, if any."""
        self.loading = False
        if self._again:
            self._again = False
            self.request()

    @Slot()
    def load_failed(self, *_args: object) -> None:
        """The screen's load failed (it shows the error): the next change may reload."""
        self.failures += 1
        self.load_finished()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A stale screen reloads as it is shown."""
        if watched is self._widget and event.type() == QEvent.Type.Show and self.stale:
            self.request()
        return False
