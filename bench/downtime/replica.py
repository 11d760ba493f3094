"""Replica scenarios (issue 12): incremental refresh of 1,000 changed rows, and replica size.

Both build their own small SQLite server in the run's work directory (a catalog, one site
and station, N patients each with one active order of two tests, bulk-inserted with Core),
so they are quick to set up and independent of the benchmark database.

``replica-refresh-1k``: 1,000 patients change on the server, then one incremental refresh
brings them into the station file (target 1 s). The server update is part of each call and
of the floor alike. Floor: the same 1,000 rows read with bare SQL and written into a plain
SQLite file (delete + insert), no scope checks.

``replica-size-20k``: the first copy of a replica for 20,000 patients with open orders; the
file's size in MB is printed after the run (the Scenario model reports times only; target
100 MB). Floor: the same rows copied with bare SQL into a plain SQLite file.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

from bench.harness.model import Context, Scenario
from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.adapters.orm import ordered_tests, orders, patients
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.replica.refresh import refresh_replica
from labdesk.replica.scope import ReplicaScope
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.reference import SiteSpec, StationSpec

logger = logging.getLogger(__name__)

STATION = "BENCH-R"
REFRESH_TARGET_MS = 1000.0
SIZE_TARGET_MB = 100.0
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@dataclass
class ReplicaState:
    """A server file, a station file and the patients to change."""

    server: UnitOfWorkFactory
    server_path: Path
    store: StationStore
    scope: ReplicaScope
    clock: FixedClock
    workdir: Path
    changed: int


def _server(workdir: Path, n: int) -> tuple[UnitOfWorkFactory, Path]:
    path = workdir / "server.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    uows = UnitOfWorkFactory(engine)
    clock = FixedClock(NOW)
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        build.catalog()
        build.site(SiteSpec("BSITE", "Bench site"))
        build.station(StationSpec(STATION, "Bench chair", "BSITE"))
        uow.commit()
    at = NOW - timedelta(hours=2)
    with engine.begin() as conn:
        conn.execute(
            insert(patients),
            [
                {
                    "id": i,
                    "mrn": f"R{i:07d}",
                    "family_name": f"Family{i}",
                    "given_name": "Given",
                    "name_key": f"family{i} given",
                    "birth_date": date(1970, 1, 1) + timedelta(days=i % 9000),
                    "sex": "U",
                    "created_at": at,
                }
                for i in range(1, n + 1)
            ],
        )
        conn.execute(
            insert(orders),
            [
                {
                    "id": i,
                    "placer_order_number": f"RO{i:07d}",
                    "patient_id": i,
                    "ordering_provider": "Dr. Bench",
                    "priority": "routine",
                    "source": "hl7",
                    "status": "active",
                    "ordered_at": at,
                    "created_at": at,
                }
                for i in range(1, n + 1)
            ],
        )
        conn.execute(
            insert(ordered_tests),
            [
                {"order_id": i, "test_code": code, "status": "ordered"}
                for i in range(1, n + 1)
                for code in ("CBC", "BMP")
            ],
        )
    return uows, path


def _state(ctx: Context, n: int, changed: int, seed: bool) -> ReplicaState:
    server, path = _server(ctx.workdir, n)
    store = open_station_store(ctx.workdir / "station.sqlite3", STATION)
    state = ReplicaState(
        server, path, store, ReplicaScope(STATION), FixedClock(NOW), ctx.workdir, changed
    )
    if seed:
        refresh_replica(server, store, state.scope, state.clock)
    return state


def _touch(state: ReplicaState, i: int) -> None:
    with state.server.engine.begin() as conn:
        conn.execute(
            update(patients).where(patients.c.id <= state.changed).values(given_name=f"Given{i}")
        )


def refresh_setup(ctx: Context) -> ReplicaState:
    """A server of 2,000 patients and a replica of them, already copied."""
    return _state(ctx, 2000, 1000, seed=True)


def refresh_1k(state: ReplicaState, i: int) -> object:
    """Change 1,000 patients on the server, refresh incrementally."""
    _touch(state, i)
    report = refresh_replica(state.server, state.store, state.scope, state.clock)
    if report.rows != state.changed or report.full:
        raise RuntimeError(f"refresh wrote {report.rows} rows (full={report.full})")
    return report


def refresh_floor(state: ReplicaState, i: int) -> object:
    """The same rows as bare SQL: select on the server, delete + insert in a plain file."""
    _touch(state, 10_000 + i)
    src = sqlite3.connect(state.server_path)
    dst = sqlite3.connect(state.workdir / "floor.sqlite3")
    try:
        rows = src.execute("SELECT * FROM patients WHERE id <= ?", (state.changed,)).fetchall()
        width = len(rows[0])
        dst.execute(f"CREATE TABLE IF NOT EXISTS p ({', '.join(f'c{k}' for k in range(width))})")
        with dst:
            dst.execute("DELETE FROM p WHERE c0 <= ?", (state.changed,))
            dst.executemany(f"INSERT INTO p VALUES ({', '.join('?' * width)})", rows)
    finally:
        src.close()
        dst.close()
    return len(rows)


def size_setup(ctx: Context) -> ReplicaState:
    """A server of 20,000 patients with an open order each (nothing copied yet)."""
    return _state(ctx, 20_000, 0, seed=False)


def size_20k(state: ReplicaState, i: int) -> object:
    """The first copy into a fresh station file; prints its size."""
    path = state.workdir / f"station-{i}.sqlite3"
    store = open_station_store(path, STATION)
    try:
        report = refresh_replica(state.server, store, state.scope, state.clock)
    finally:
        store.close()
    mb = path.stat().st_size / 1e6
    print(f"replica-size-20k: {report.rows} rows, {mb:.1f} MB (target {SIZE_TARGET_MB:.0f} MB)")  # noqa: T201
    path.unlink()
    return mb


def size_floor(state: ReplicaState, i: int) -> object:
    """The same tables copied with bare SQL into a plain SQLite file."""
    path = state.workdir / f"floor-{i}.sqlite3"
    dst = sqlite3.connect(path)
    try:
        dst.execute(f"ATTACH DATABASE '{state.server_path}' AS s")
        with dst:
            for name in ("patients", "patient_identifiers", "orders", "ordered_tests"):
                dst.execute(f"CREATE TABLE {name} AS SELECT * FROM s.{name}")
    finally:
        dst.close()
    path.unlink()
    return None


def _teardown(state: ReplicaState) -> None:
    state.store.close()
    state.server.engine.dispose()


def scenarios() -> list[Scenario[Any]]:
    """The replica scenarios."""
    return [
        Scenario(
            name="replica-refresh-1k",
            title="Replica: incremental refresh of 1,000 changed rows",
            setup=refresh_setup,
            run_once=refresh_1k,
            floor=refresh_floor,
            target_p95_ms=REFRESH_TARGET_MS,
            per_size=False,
            iterations=5,
            teardown=_teardown,
        ),
        Scenario(
            name="replica-size-20k",
            title="Replica: first copy for 20,000 patients with open orders (size printed)",
            setup=size_setup,
            run_once=size_20k,
            floor=size_floor,
            per_size=False,
            iterations=2,
            teardown=_teardown,
        ),
    ]
