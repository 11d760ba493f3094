"""The PostgreSQL change feed: one ``LISTEN labdesk_changes`` connection per workstation.

The triggers of migration 0013 call ``pg_notify('labdesk_changes', '<topic>:<id>')``;
PostgreSQL delivers the payloads at commit (never for a rolled-back transaction). This
feed's daemon thread holds ONE autocommit psycopg connection, reads with
``conn.notifies(timeout=...)``, decodes with :func:`labdesk.kernel.changes.decode` and hands
the changes to a :class:`~labdesk.kernel.changes.Coalescer`, so a burst of notifications
becomes a few batches.

Staying connected:

- TCP keepalives on the socket catch a peer that vanished from the network.
- After ``keepalive_s`` of silence the feed probes with ``SELECT 1`` (server-side
  ``statement_timeout`` on this connection, and a client-side watchdog that cuts the
  socket when no answer comes within ``probe_timeout_s``): a connection that died silently
  (a black-holed route, a frozen proxy) is noticed within ``keepalive_s + probe_timeout_s``
  (7 s by default).
- On any connection error: ``on_state(RECONNECTING)``, reconnect with backoff (0.5 s
  doubling to 5 s), ``LISTEN`` again, ``on_state(LIVE)`` and one batch with ``resync=True``
  (notifications sent while away are lost: every screen reloads).

A payload that is not ours or is malformed is ignored and logged (at most once per
``_LOG_EVERY_S``, showing at most its first 40 characters). Payloads carry topics and ids
only, never patient data. An idle feed runs one ``SELECT 1`` per ``keepalive_s`` (12 a
minute by default) and nothing else; :attr:`PgChangeFeed.statements` counts them.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Mapping

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL

from labdesk.kernel.changes import (
    CHANNEL,
    COALESCE_S,
    KEEPALIVE_S,
    ChangeBatch,
    Coalescer,
    FeedState,
    OnChanges,
    OnState,
    decode,
)

logger = logging.getLogger(__name__)

BACKOFF_S = (0.5, 5.0)
"""First and longest wait between reconnection attempts (doubling in between)."""
PROBE_TIMEOUT_S = 2.0
"""How long the keep-alive ``SELECT 1`` may take before the connection counts as dead."""
CONNECT_TIMEOUT_S = 5
"""libpq ``connect_timeout`` of the listening connection (seconds, at least 2)."""
TICK_S = 0.25
"""Longest single wait for notifications: bounds how long ``stop`` takes."""
_LOG_EVERY_S = 60.0
_SHOWN_CHARS = 40

TCP_KEEPALIVES: Mapping[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 9000,
}
"""libpq TCP keep-alive settings: a vanished peer is dropped within about 9 s."""


def conninfo_from_url(url: URL) -> str:
    """A libpq connection string for a SQLAlchemy PostgreSQL URL (query options kept)."""
    params: dict[str, str | int | None] = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
    }
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    return make_conninfo("", **{k: v for k, v in params.items() if v not in (None, "")})


def cut_socket(conn: psycopg.Connection[object]) -> None:
    """Shut a connection's socket down so a blocked read or wait on it fails at once.

    Works from any thread (the socket is shared by every descriptor of it); closing the
    connection object itself is left to its owner.
    """
    try:
        fd = conn.fileno()
    except psycopg.Error:
        return  # already closed
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


class _ThrottledWarning:
    """Logs a warning at most once per ``every_s``, counting what it held back."""

    def __init__(self, every_s: float = _LOG_EVERY_S) -> None:
        self._every = every_s
        self._last = -math.inf
        self._held = 0

    def __call__(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self._every:
            self._held += 1
            return
        held, self._held, self._last = self._held, 0, now
        suffix = f" ({held} more since the last report)" if held else ""
        logger.warning(message + suffix, *args)


class _ConnectionLost(Exception):
    """The listening connection stopped answering (the keep-alive probe timed out)."""


class PgChangeFeed:
    """Listens on ``labdesk_changes`` from a daemon thread (see the module docstring).

    Every timing is injectable so the tests of a dead connection take seconds.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        keepalive_s: float = KEEPALIVE_S,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
        connect_timeout_s: int = CONNECT_TIMEOUT_S,
        backoff_s: tuple[float, float] = BACKOFF_S,
        window_s: float = COALESCE_S,
    ) -> None:
        self._conninfo = conninfo
        self._keepalive_s = keepalive_s
        self._probe_timeout_s = probe_timeout_s
        self._connect_timeout_s = max(2, int(connect_timeout_s))
        self._backoff_s = backoff_s
        self._window_s = window_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[object] | None = None
        self._warn_payload = _ThrottledWarning()
        self.statements = 0
        """SQL statements this feed has run (LISTEN at each connect, keep-alive probes)."""
        self.connects = 0
        """Successful connections so far (1 + reconnects)."""
        self.ignored = 0
        """Notifications ignored as foreign or malformed."""

    # ------------------------------------------------------------------ lifecycle

    def start(self, on_changes: OnChanges, on_state: OnState) -> None:
        """Begin listening; the callbacks run on the feed's thread.

        Raises:
            RuntimeError: if the feed was already started.
        """
        if self._thread is not None:
            raise RuntimeError("this change feed was already started")
        self._thread = threading.Thread(
            target=self._run, args=(on_changes, on_state), name="labdesk-pg-feed", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and release the connection (idempotent, returns within 1 s).

        A connection attempt in flight cannot be interrupted: the daemon thread then ends
        when it gives up, without calling back again except the final STOPPED.
        """
        self._stop.set()
        with self._lock:
            conn = self._conn
        if conn is not None:
            cut_socket(conn)  # wakes a keep-alive probe waiting for its answer
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    # ------------------------------------------------------------------ the thread

    def _run(self, on_changes: OnChanges, on_state: OnState) -> None:
        def deliver(batch: ChangeBatch) -> None:
            if self._stop.is_set():
                return
            try:
                on_changes(batch)
            except Exception:
                logger.exception("a live-update receiver failed")

        def tell(state: FeedState) -> None:
            if self._stop.is_set() and state is not FeedState.STOPPED:
                return
            try:
                on_state(state)
            except Exception:
                logger.exception("a live-update state receiver failed")

        coalescer = Coalescer(deliver, self._window_s)
        delay = self._backoff_s[0]
        state: FeedState | None = None
        lost = False
        try:
            while not self._stop.is_set():
                try:
                    conn = self._connect()
                except (psycopg.Error, OSError, _ConnectionLost) as exc:
                    if state is not FeedState.RECONNECTING:
                        logger.warning("live updates: cannot connect: %s", _first_line(exc))
                        state = FeedState.RECONNECTING
                        tell(state)
                    lost = True
                    self._stop.wait(delay)
                    delay = min(delay * 2, self._backoff_s[1])
                    continue
                delay = self._backoff_s[0]
                state = FeedState.LIVE
                tell(state)
                if lost:
                    coalescer.add_resync()
                try:
                    self._listen(conn, coalescer)
                except (psycopg.Error, OSError, _ConnectionLost) as exc:
                    if not self._stop.is_set():
                        logger.warning("live updates: connection lost: %s", _first_line(exc))
                        state = FeedState.RECONNECTING
                        tell(state)
                        lost = True
                        self._stop.wait(delay)
                finally:
                    with self._lock:
                        self._conn = None
                    conn.close()
        finally:
            tell(FeedState.STOPPED)

    def _connect(self) -> psycopg.Connection[object]:
        conninfo = make_conninfo(
            self._conninfo,
            connect_timeout=self._connect_timeout_s,
            application_name="labdesk-live",
            options=f"-c statement_timeout={int(self._probe_timeout_s * 1000)}",
            **TCP_KEEPALIVES,
        )
        conn: psycopg.Connection[object] = psycopg.Connection.connect(conninfo, autocommit=True)
        try:
            with self._lock:
                self._conn = conn
            if self._stop.is_set():
                raise psycopg.OperationalError("stopped while connecting")
            self.statements += 1
            self._with_watchdog(conn, f"LISTEN {CHANNEL}")
        except BaseException:
            with self._lock:
                self._conn = None
            conn.close()
            raise
        self.connects += 1
        return conn

    def _with_watchdog(self, conn: psycopg.Connection[object], sql: str) -> None:
        """Run ``sql``; cut the socket when no answer comes within ``probe_timeout_s``."""
        fired = threading.Event()

        def fire() -> None:
            fired.set()
            cut_socket(conn)

        timer = threading.Timer(self._probe_timeout_s, fire)
        timer.daemon = True
        timer.start()
        try:
            conn.execute(sql.encode())
        except psycopg.Error as exc:
            if fired.is_set():
                raise _ConnectionLost(
                    f"no answer to the keep-alive within {self._probe_timeout_s:g} s"
                ) from exc
            raise
        finally:
            timer.cancel()

    def _listen(self, conn: psycopg.Connection[object], coalescer: Coalescer) -> None:
        heard = time.monotonic()
        while not self._stop.is_set():
            coalescer.flush_due()
            due = coalescer.seconds_to_flush()
            probe_in = heard + self._keepalive_s - time.monotonic()
            if probe_in <= 0:
                self.statements += 1
                self._with_watchdog(conn, "SELECT 1")
                heard = time.monotonic()
                continue
            timeout = min(TICK_S, probe_in, math.inf if due is None else due)
            # Nothing pending: return at the first notification to start its window.
            stop_after = 1 if due is None else None
            for notify in conn.notifies(timeout=max(timeout, 0.001), stop_after=stop_after):
                heard = time.monotonic()
                self._note(notify.channel, notify.payload, coalescer)

    def _note(self, channel: str, payload: str, coalescer: Coalescer) -> None:
        change = decode(payload) if channel == CHANNEL else None
        if change is None:
            self.ignored += 1
            self._warn_payload(
                "live updates: ignored a notification that is not LabDesk's: %r",
                payload[:_SHOWN_CHARS],
            )
            return
        coalescer.add(*change)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
