"""Watches the server off the UI thread and flips the station's mode (issue 12 item 3).

A call that hangs on a black-holed server would freeze whichever thread makes it, so the
heartbeat runs every probe on a throw-away daemon thread and waits for it at most
``timeout_s``: a probe that has not answered by then counts as a failure even if it never
returns. A failure while online calls :meth:`StationMode.go_offline` with the reason in
the user's words; a success while offline calls :meth:`StationMode.resync` on the
heartbeat thread (never the UI thread). While online it also runs the periodic replica
refresh and the contact report, both of which may fail without stopping the heartbeat.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labdesk.domain.errors import LabdeskError, StorageError
from labdesk.downtime.mode import Connectivity, StationMode

if TYPE_CHECKING:
    from labdesk.adapters.downtime.station_store import StationStore
    from labdesk.adapters.unit_of_work import UnitOfWorkFactory
    from labdesk.config import Config
    from labdesk.domain.clock import Clock
    from labdesk.downtime.router import StationRouter

logger = logging.getLogger(__name__)

Probe = Callable[[], None]
"""Raises ``StorageError`` when the server does not answer; bounded by its own timeouts."""


def engine_probe(raw_url: str, *, timeout_s: float = 2.0, password_file: str = "") -> Probe:
    """A probe that opens a fresh connection to the server and runs ``SELECT 1``.

    A fresh connection each time (no pool): a pooled connection to a black-holed server
    would hang in its pre-ping. ``connect_timeout`` bounds the TCP and start-up phase and
    ``statement_timeout`` the query; the heartbeat's own deadline bounds the rest.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    from labdesk.adapters.database import make_engine, translate_error

    # make_engine reads the URL and the password file the way the app does.
    base = make_engine(raw_url, password_file=password_file)
    url = base.url
    base.dispose()
    engine = create_engine(
        url,
        poolclass=NullPool,
        hide_parameters=True,
        connect_args={
            # a second past the heartbeat's deadline: a black hole is reported by the
            # deadline ("did not answer within 2 s"); the lingering probe thread still ends.
            "connect_timeout": int(timeout_s) + 1,
            "options": f"-c statement_timeout={int(timeout_s * 1000)}",
        },
    )

    def probe() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise translate_error(exc, engine.url) from exc

    return probe


class Heartbeat:
    """A daemon thread probing the server every ``interval_s`` and switching the mode."""

    def __init__(
        self,
        mode: StationMode,
        probe: Probe,
        *,
        interval_s: float = 1.0,
        timeout_s: float = 2.0,
        refresh: Callable[[], object] | None = None,
        refresh_every_s: float = 60.0,
        report_contact: Callable[[], object] | None = None,
        contact_every_s: float = 60.0,
        changed: Callable[[], bool] | None = None,
        changed_gap_s: float = 2.0,
    ) -> None:
        self._mode = mode
        self._probe = probe
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._refresh = refresh
        self._refresh_every_s = refresh_every_s
        self._report_contact = report_contact
        self._contact_every_s = contact_every_s
        self._changed = changed
        """Whether the station wrote to the server since it last asked (refresh sooner)."""
        self._changed_gap_s = changed_gap_s
        self._pending_change = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_refresh = float("-inf")
        self._last_contact = float("-inf")

    def start(self) -> None:
        """Start probing (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="labdesk-heartbeat", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Stop probing and wait for the thread (a hung probe thread is left to die)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def beat(self) -> None:
        """One probe and what follows from it (the thread's loop body; tests call it)."""
        failure = self._probe_once()
        connectivity = self._mode.status().connectivity
        if failure is not None:
            if connectivity is Connectivity.ONLINE:
                logger.warning("server unreachable: %s", failure)
                self._mode.go_offline(failure)
            return
        if connectivity is not Connectivity.ONLINE:
            self._resync()
            return
        now = time.monotonic()
        if self._changed is not None and self._changed():
            self._pending_change = True
        since = now - self._last_refresh
        due = since >= self._refresh_every_s or (
            self._pending_change and since >= self._changed_gap_s
        )
        if self._refresh is not None and due:
            self._last_refresh = now
            self._pending_change = False
            self._call("replica refresh", self._refresh)
        if self._report_contact is not None and now - self._last_contact >= self._contact_every_s:
            self._last_contact = now
            self._call("contact report", self._report_contact)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.beat()
            except Exception:  # the heartbeat must never die of one bad beat
                logger.exception("heartbeat failed")
            self._stop.wait(max(0.0, self._interval_s - (time.monotonic() - started)))

    def _probe_once(self) -> str | None:
        """None when the server answered, else why not (in the user's words)."""
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                self._probe()
                outcome.append(None)
            except BaseException as exc:  # reported to the heartbeat, not swallowed
                outcome.append(exc)

        worker = threading.Thread(target=run, name="labdesk-heartbeat-probe", daemon=True)
        worker.start()
        worker.join(self._timeout_s)
        if not outcome:
            return f"the server did not answer within {self._timeout_s:g} s"
        error = outcome[0]
        if error is None:
            return None
        if isinstance(error, StorageError):
            if "timeout" in error.message.lower():
                return f"the server did not answer within {self._timeout_s:g} s"
            return f"the server cannot be reached ({error.message})"
        if isinstance(error, LabdeskError):
            return error.message
        return f"the server cannot be reached ({type(error).__name__})"

    def _resync(self) -> None:
        try:
            status = self._mode.resync()
        except LabdeskError as exc:
            logger.warning("resync failed: %s", exc)
            return
        logger.info("resync done: %s, %d pending", status.connectivity, status.pending)
        self._last_refresh = float("-inf")  # catch up the replica right after a sync

    def _call(self, what: str, callback: Callable[[], object]) -> None:
        try:
            callback()
        except LabdeskError as exc:
            logger.warning("%s failed: %s", what, exc)


# ---------------------------------------------------------------- composition (the app)


@dataclass
class StationDowntime:
    """The pieces the app owns for one PostgreSQL station."""

    mode: StationRouter
    heartbeat: Heartbeat
    store: StationStore

    def start(self) -> None:
        """Start watching the server (the heartbeat thread)."""
        self.heartbeat.start()

    def stop(self) -> None:
        """Stop the heartbeat and close the station file (at exit)."""
        self.heartbeat.stop()
        self.store.close()


def _optional_refresh(
    config: Config, server: UnitOfWorkFactory, clock: Clock, store: StationStore
) -> Callable[[], object] | None:
    """The replica refresh callback when ``labdesk.replica.refresh`` is installed."""
    try:
        from labdesk.replica.refresh import refresh_replica
        from labdesk.replica.scope import ReplicaScope
    except ImportError:
        logger.info("replica refresh not available yet: the replica is not refreshed")
        return None
    scope = ReplicaScope(config.station_code)
    return lambda: refresh_replica(server, store, scope, clock)


def _contact_reporter(
    config: Config,
    server: UnitOfWorkFactory,
    clock: Clock,
    store: StationStore,
    mode: StationRouter,
) -> Callable[[], object]:
    """The heartbeat's contact report: clock, outbox depth, block left, replica age."""
    from labdesk.downtime.blocks import remaining
    from labdesk.downtime.contacts import ContactReport, report_contact

    def report() -> object:
        status = mode.status()
        now = clock.now()
        with store() as uow:
            left = remaining(uow.blocks.all(), now.year)
        age = (
            (now - status.replica_refreshed_at).total_seconds()
            if status.replica_refreshed_at is not None
            else None
        )
        return report_contact(
            server,
            ContactReport(
                station=config.station_code,
                station_clock_at=now,
                outbox_pending=status.pending,
                outbox_conflicts=status.conflicts,
                block_remaining=left,
                replica_age_seconds=age,
            ),
            clock,
        )

    return report


def build_station_downtime(
    config: Config, server: UnitOfWorkFactory, clock: Clock, *, backend: str
) -> StationDowntime | None:
    """The station's mode and heartbeat for a PostgreSQL server (``backend``, the
    engine's dialect name); None for SQLite, which has no server to lose.

    Opens the station file and counts its outbox: call it off the UI thread.
    """
    if backend != "postgresql":
        return None
    from labdesk.adapters.downtime.server import ServerSync
    from labdesk.adapters.downtime.station_store import open_station_store
    from labdesk.downtime.blocks import BlockPolicy
    from labdesk.downtime.router import StationRouter
    from labdesk.downtime.sync import station_file

    store = open_station_store(station_file(config.data_dir), config.station_code)
    refresh = _optional_refresh(config, server, clock, store)
    router = StationRouter(
        server,
        store,
        clock,
        sync_server=lambda: ServerSync(server, clock),
        refresh=refresh,
    )
    probe = engine_probe(
        config.database_url, timeout_s=2.0, password_file=config.database_password_file
    )
    heartbeat = Heartbeat(
        router,
        probe,
        interval_s=1.0,
        timeout_s=2.0,
        refresh=lambda: router.keep_ready(
            BlockPolicy(config.accession_block_size, config.accession_block_top_up_below)
        ),
        refresh_every_s=60.0,
        report_contact=_contact_reporter(config, server, clock, store, router),
        changed=router.take_changed,
    )
    return StationDowntime(router, heartbeat, store)
