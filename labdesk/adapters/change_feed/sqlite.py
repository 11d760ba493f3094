"""The SQLite change feed: notice commits on the file, read the per-topic counters.

SQLite has no notifications between processes. The triggers of migration 0013 bump
``change_counters.seq`` of a topic in the writing transaction; this feed's thread polls
``os.stat`` of the database file and its ``-wal`` (modification time and size) every
``poll_s`` and, only when one of them moved, reads the counters on its own connection and
reports the topics whose counter moved (ids unknown: empty sets). An idle station runs no
SQL at all; a commit by any connection of this process or another process on the same file
is seen within ``poll_s`` plus the coalescing window.

A rolled-back transaction may touch the files but moves no counter, so it is not reported.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from labdesk.adapters.change_feed.triggers import COUNTER_TABLE
from labdesk.kernel.changes import (
    COALESCE_S,
    ChangeBatch,
    Coalescer,
    FeedState,
    OnChanges,
    OnState,
    Topic,
)

logger = logging.getLogger(__name__)

POLL_S = 0.1
"""How often the file's stat is compared (no SQL)."""

_Signature = tuple[int, int, int, int]
_TOPICS = frozenset(topic.value for topic in Topic)


def _stat(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


class SqliteChangeFeed:
    """Watches one SQLite file from a daemon thread (see the module docstring)."""

    def __init__(self, path: Path, *, poll_s: float = POLL_S, window_s: float = COALESCE_S) -> None:
        self.path = Path(path)
        self._wal = self.path.with_name(self.path.name + "-wal")
        self._poll_s = poll_s
        self._window_s = window_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.statements = 0
        """SQL statements this feed has run (for the idle query rate)."""

    def _signature(self) -> _Signature:
        return (*_stat(self.path), *_stat(self._wal))

    def _read(self, conn: sqlite3.Connection) -> dict[str, int]:
        self.statements += 1
        rows = conn.execute(f"SELECT topic, seq FROM {COUNTER_TABLE}").fetchall()
        return {str(topic): int(seq) for topic, seq in rows}

    def _connect(self) -> sqlite3.Connection:
        # Autocommit: every SELECT is its own short read, so the feed never holds a
        # snapshot that would keep the WAL from being checkpointed.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=2000")
        self.statements += 1
        return conn

    def start(self, on_changes: OnChanges, on_state: OnState) -> None:
        """Begin watching; the callbacks run on the feed's thread.

        Raises:
            RuntimeError: if the feed was already started.
        """
        if self._thread is not None:
            raise RuntimeError("this change feed was already started")
        self._thread = threading.Thread(
            target=self._run, args=(on_changes, on_state), name="labdesk-sqlite-feed", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and close the connection (idempotent, returns within ``poll_s``)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    def _run(self, on_changes: OnChanges, on_state: OnState) -> None:
        def deliver(batch: ChangeBatch) -> None:
            try:
                on_changes(batch)
            except Exception:
                logger.exception("a live-update receiver failed")

        coalescer = Coalescer(deliver, self._window_s)
        conn: sqlite3.Connection | None = None
        seen: dict[str, int] = {}
        signature: _Signature | None = None
        lost = False
        try:
            while not self._stop.is_set():
                if conn is None:
                    conn, seen, signature = self._open(on_state, lost)
                    if conn is None:
                        lost = True
                        self._stop.wait(1.0)
                        continue
                    if lost:
                        coalescer.add_resync()  # anything may have changed meanwhile
                    lost = False
                    on_state(FeedState.LIVE)
                now = self._signature()
                if now != signature:
                    signature = now
                    try:
                        counters = self._read(conn)
                    except sqlite3.Error as exc:
                        logger.warning("live updates: cannot read %s: %s", self.path, exc)
                        conn.close()
                        conn = None
                        lost = True
                        on_state(FeedState.RECONNECTING)
                        continue
                    for name, seq in counters.items():
                        if seen.get(name) != seq and name in _TOPICS:
                            coalescer.add(Topic(name))
                    seen = counters
                coalescer.flush_due()
                self._stop.wait(self._poll_s)
        finally:
            if conn is not None:
                conn.close()
            on_state(FeedState.STOPPED)

    def _open(
        self, on_state: OnState, lost: bool
    ) -> tuple[sqlite3.Connection | None, dict[str, int], _Signature]:
        """Connect and read the counters, with the file's stat from just before the read.

        Opening the first connection creates the ``-wal`` file, so the stat is taken again
        until it stays the same across a read: a commit landing meanwhile is in the read
        or moves the stat again, and nothing this feed did itself counts as a change.
        """
        signature = self._signature()
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connect()
            counters = self._read(conn)
            after = self._signature()
            while after != signature:
                signature = after
                counters = self._read(conn)
                after = self._signature()
            return conn, counters, signature
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            if not lost:
                logger.warning("live updates: cannot read %s: %s", self.path, exc)
                on_state(FeedState.RECONNECTING)
            return None, {}, signature
