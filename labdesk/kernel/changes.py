"""Live updates: what changed in the database, told to every open screen that shows it.

A change is a *topic* (what kind of thing changed) and the *id* of the row that changed,
never patient data. Database triggers announce every change in the writing transaction, so
no command, HL7 listener, import or hand-written SQL can change something behind the
screens' backs:

- PostgreSQL: ``pg_notify(CHANNEL, "<topic>:<id>")``; PostgreSQL delivers it at commit and
  drops it at rollback. Each workstation holds one listening connection.
- SQLite: a per-topic change counter bumped by the same triggers; a watcher notices a
  commit by any connection or process on the file and reads the counters.

A :class:`ChangeFeed` turns those into :class:`ChangeBatch` es, coalesced so a burst (100
HL7 results at once) gives a bounded number of reloads. After a lost connection the feed
reconnects by itself and sends one batch with ``resync=True``: everything may have changed
while it was away.

This module is the contract between the adapters (``labdesk.adapters.change_feed``), the
screens (``ui.live``) and the benchmarks; it holds no I/O.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

CHANNEL = "labdesk_changes"
"""The PostgreSQL notification channel."""
COALESCE_S = 0.2
"""Changes arriving within this window reach the screens as one batch."""
KEEPALIVE_S = 5.0
"""A listener that has heard nothing this long checks its connection (dead within 10 s)."""
_MAX_ID = 2**63 - 1


class Topic(enum.StrEnum):
    """What kind of thing changed; each screen subscribes to the topics it shows."""

    PATIENTS = "patients"
    """A patient registered or changed (name, MRN, ...)."""
    ORDERS = "orders"
    """An order or ordered test: new, cancelled, its status moved."""
    SPECIMENS = "specimens"
    """A specimen: collected, labelled, confirmed, status moved."""
    CUSTODY = "custody"
    """A custody event: pickup, receipt, lost, rejected, ..."""
    MANIFESTS = "manifests"
    """A courier manifest opened, closed, or an item added."""
    RESULTS = "results"
    """A result stored or changed, or a result discrepancy."""
    ACKS = "acks"
    """A result acknowledged, or a critical escalated."""
    PRINT_JOBS = "print_jobs"
    """A print job queued or its state moved (sent, failed, confirmed)."""
    RECOLLECTIONS = "recollections"
    """A recollection task opened, closed or cancelled."""


def encode(topic: Topic, row_id: int) -> str:
    """The notification payload for one change: ``"<topic>:<id>"``."""
    return f"{topic.value}:{row_id}"


def decode(payload: str) -> tuple[Topic, int] | None:
    """The change a payload announces, or None for one that is not ours or malformed."""
    name, sep, number = payload.partition(":")
    if not sep or not number.isdigit() or len(number) > 19:
        return None
    try:
        topic = Topic(name)
    except ValueError:
        return None
    row_id = int(number)
    return (topic, row_id) if row_id <= _MAX_ID else None


@dataclass(frozen=True)
class ChangeBatch:
    """Changes seen together; a screen reloads when it shows one of ``topics``."""

    ids: Mapping[Topic, frozenset[int]] = field(default_factory=dict)
    """The changed row ids per topic (a topic with an empty set: changed, ids unknown)."""
    resync: bool = False
    """True after a reconnect: anything may have changed, every screen reloads."""

    @property
    def topics(self) -> frozenset[Topic]:
        """The topics that changed (every topic on a resync)."""
        return frozenset(Topic) if self.resync else frozenset(self.ids)

    def touches(self, wanted: Iterable[Topic]) -> bool:
        """Whether a screen showing ``wanted`` should reload."""
        return self.resync or not self.topics.isdisjoint(wanted)


class FeedState(enum.StrEnum):
    """Whether a feed is hearing changes."""

    LIVE = "live"
    RECONNECTING = "reconnecting"
    """The connection was lost; screens say so and keep what they show."""
    STOPPED = "stopped"


OnChanges = Callable[[ChangeBatch], None]
OnState = Callable[[FeedState], None]


class ChangeFeed(Protocol):
    """Delivers change batches from its own thread until stopped."""

    def start(self, on_changes: OnChanges, on_state: OnState) -> None:
        """Begin listening; the callbacks run on the feed's thread."""
        ...

    def stop(self) -> None:
        """Stop listening and release the connection (idempotent)."""
        ...


class Coalescer:
    """Collects changes and hands them on at most once per ``window_s``.

    Thread-safe: :meth:`add` may be called from any thread; :meth:`flush_due` is called by
    the feed's thread and delivers one batch when the window has passed.
    """

    def __init__(
        self,
        deliver: OnChanges,
        window_s: float = COALESCE_S,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._deliver = deliver
        self._window = window_s
        self._now = now
        self._lock = threading.Lock()
        self._ids: dict[Topic, set[int]] = {}
        self._resync = False
        self._first_at: float | None = None

    def add(self, topic: Topic, row_id: int | None = None) -> None:
        """Note one change (``row_id`` None: the topic changed, ids unknown)."""
        with self._lock:
            ids = self._ids.setdefault(topic, set())
            if row_id is not None:
                ids.add(row_id)
            if self._first_at is None:
                self._first_at = self._now()

    def add_resync(self) -> None:
        """Note that anything may have changed (after a reconnect)."""
        with self._lock:
            self._resync = True
            if self._first_at is None:
                self._first_at = self._now()

    def seconds_to_flush(self) -> float | None:
        """How long until the pending batch is due (None: nothing pending)."""
        with self._lock:
            if self._first_at is None:
                return None
            return max(0.0, self._first_at + self._window - self._now())

    def flush_due(self) -> bool:
        """Deliver the pending batch if its window has passed; True if one was delivered."""
        with self._lock:
            if self._first_at is None or self._now() < self._first_at + self._window:
                return False
            batch = ChangeBatch(
                ids={t: frozenset(ids) for t, ids in self._ids.items()}, resync=self._resync
            )
            self._ids, self._resync, self._first_at = {}, False, None
        self._deliver(batch)
        return True
