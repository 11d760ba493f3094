"""Pruning the server's ``replica_log``: old entries go, a station pruned past copies again.

Runs on both server backends (``engine`` fixture). The log stamps ``changed_at`` with the
database's clock, so each test stamps the entries it needs relative to the test clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update

from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.adapters.orm import metadata, ordered_tests, orders, patients
from labdesk.adapters.orm.replica import replica_log
from labdesk.adapters.replica.copy import KEYS, ORDER
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import ValidationError
from labdesk.replica import refresh as refresh_module
from labdesk.replica.prune import DEFAULT_KEEP, prune_replica_log
from labdesk.replica.refresh import refresh_replica
from labdesk.replica.scope import ReplicaScope

STATION = "DRAW-2"
OLD = timedelta(days=40)
RECENT = timedelta(days=10)


@pytest.fixture
def store(tmp_path: Path, station_world: object) -> StationStore:
    return open_station_store(tmp_path / "station.sqlite3", STATION)


def _seqs(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(s) for s in conn.scalars(select(replica_log.c.seq).order_by(replica_log.c.seq))]


def _stamp(engine: Engine, clock: FixedClock, age: timedelta, *where: Any) -> None:
    """Stamp the log entries matching ``where`` (all when none) as changed ``age`` ago."""
    with engine.begin() as conn:
        conn.execute(update(replica_log).where(*where).values(changed_at=clock.now() - age))


def _order(world: object, uows: UnitOfWorkFactory, clock: FixedClock, who: str) -> None:
    add_order = __import__("station_world").add_order
    add_order(uows, clock, world.patients[who], ("CBC", "BMP"))  # type: ignore[attr-defined]


def _rows(engine: Engine, name: str) -> list[tuple[Any, ...]]:
    tbl = metadata.tables[name]
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(select(tbl)))


def test_entries_older_than_the_window_go_and_newer_stay(
    engine: Engine, uow_factory: UnitOfWorkFactory, clock: FixedClock, station_world: object
) -> None:
    seqs = _seqs(engine)  # the world's catalog, site, users and patients
    assert len(seqs) > 20
    half = seqs[len(seqs) // 2]
    _stamp(engine, clock, OLD, replica_log.c.seq < half)
    _stamp(engine, clock, RECENT, replica_log.c.seq >= half)
    skewed = seqs[-3]  # stamped old but above a recent entry (a long transaction): kept
    _stamp(engine, clock, OLD, replica_log.c.seq == skewed)
    report = prune_replica_log(uow_factory, clock, DEFAULT_KEEP, batch=7)  # several batches
    assert report.removed == len([s for s in seqs if s < half])
    assert _seqs(engine) == [s for s in seqs if s >= half]
    assert report.oldest_kept == half
    assert report.cutoff == clock.now() - DEFAULT_KEEP
    # Again: nothing more is old enough.
    assert prune_replica_log(uow_factory, clock).removed == 0
    # Everything old: the newest entry is kept, so the log still says how far it went.
    _stamp(engine, clock, OLD)
    report = prune_replica_log(uow_factory, clock)
    assert _seqs(engine) == [seqs[-1]]
    assert report.removed == len(seqs) - len([s for s in seqs if s < half]) - 1
    # New writes after a prune continue the numbering (a seq is never reused).
    _order(station_world, uow_factory, clock, "ana")
    assert min(_seqs(engine)[1:]) > seqs[-1]


def test_a_station_pruned_past_copies_its_scope_again(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
    tmp_path: Path,
) -> None:
    world: Any = station_world
    _order(world, uow_factory, clock, "ana")
    _order(world, uow_factory, clock, "ben")
    scope = ReplicaScope(STATION)
    assert refresh_replica(uow_factory, store, scope, clock).full
    # While the station is away: an edit, a delete, a new order, a completed order.
    ana, ben, cai = (world.patients[k] for k in ("ana", "ben", "cai"))
    with engine.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == ana).values(given_name="Anya"))
        gone = conn.scalars(
            select(ordered_tests.c.id).join(orders).where(orders.c.patient_id == ana).limit(1)
        ).one()
        conn.execute(delete(ordered_tests).where(ordered_tests.c.id == gone))
        conn.execute(update(orders).where(orders.c.patient_id == ben).values(status="completed"))
    _order(world, uow_factory, clock, "cai")
    # ... and a month later the log is pruned past the station's position.
    _stamp(engine, clock, OLD)
    assert prune_replica_log(uow_factory, clock).removed > 0
    report = refresh_replica(uow_factory, store, scope, clock)
    assert report.full
    assert report.seq == _seqs(engine)[-1]
    fresh = open_station_store(tmp_path / "fresh.sqlite3", STATION)
    assert refresh_replica(uow_factory, fresh, scope, clock).full
    assert set(ORDER) == set(KEYS)  # every replicated table is compared
    for name in ORDER:  # the same rows a first copy from the server gets, table by table
        assert _rows(store.engine, name) == _rows(fresh.engine, name), name
    for name in ORDER[:8]:  # catalog, sites, stations, routes: every server row
        assert _rows(store.engine, name) == _rows(engine, name), name
    with store.engine.connect() as conn:
        names = dict(conn.execute(select(patients.c.id, patients.c.given_name)).all())
        assert conn.scalar(select(func.count()).where(ordered_tests.c.id == gone)) == 0
    assert names == {ana: "Anya", cai: "Cai"}  # Ben's only order is completed: out of scope
    # Caught up: the next refresh is incremental again.
    again = refresh_replica(uow_factory, store, scope, clock)
    assert (again.full, again.rows) == (False, 0)
    fresh.close()


def test_a_station_just_inside_the_window_stays_incremental(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> None:
    world: Any = station_world
    _order(world, uow_factory, clock, "ana")
    scope = ReplicaScope(STATION)
    last = refresh_replica(uow_factory, store, scope, clock).seq
    with engine.begin() as conn:
        conn.execute(
            update(patients).where(patients.c.id == world.patients["ana"]).values(given_name="Anya")
        )
    _stamp(engine, clock, OLD, replica_log.c.seq <= last)
    _stamp(engine, clock, RECENT, replica_log.c.seq > last)
    prune_replica_log(uow_factory, clock)
    assert _seqs(engine)[0] == last + 1  # exactly what the station has not applied is kept
    report = refresh_replica(uow_factory, store, scope, clock)
    assert (report.full, report.rows) == (False, 1)
    with store.engine.connect() as conn:
        assert conn.scalar(select(patients.c.given_name)) == "Anya"


def test_a_copy_still_applies_a_change_that_commits_late(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> None:
    """A copy (first, or again after a prune) keeps the numbers still running as holes.

    On PostgreSQL, numbers below the newest one can belong to transactions still running
    while the copy reads; their changes come after the copy and are asked for again.
    """
    world: Any = station_world
    _order(world, uow_factory, clock, "ana")
    _order(world, uow_factory, clock, "ben")
    with engine.begin() as conn:  # the newest entry shows as top+10: top+1..top+9 running
        top = int(conn.scalar(select(func.max(replica_log.c.seq))) or 0)
        conn.execute(update(replica_log).where(replica_log.c.seq == top).values(seq=top + 10))
    scope = ReplicaScope(STATION)
    report = refresh_replica(uow_factory, store, scope, clock)
    assert (report.full, report.seq) == (True, top + 10)
    ben = world.patients["ben"]
    with engine.begin() as conn:  # ... one of them commits now, with its number top+1
        conn.execute(update(patients).where(patients.c.id == ben).values(given_name="Benno"))
        conn.execute(
            update(replica_log)
            .where(replica_log.c.row_id == str(ben), replica_log.c.seq > top)
            .values(seq=top + 1)
        )
    assert not refresh_replica(uow_factory, store, scope, clock).full
    with store.engine.connect() as conn:
        assert conn.scalar(select(patients.c.given_name).where(patients.c.id == ben)) == "Benno"


def test_a_prune_while_a_refresh_reads_the_log_is_noticed(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refresh asks whether it was pruned past only after reading the entries.

    The prune runs just before the refresh reads the entries (inside its own reading of the
    remembered holes): had it asked before, it would apply an incomplete log.
    """
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite: the refresh holds the server's write lock, no prune runs meanwhile")
    world: Any = station_world
    _order(world, uow_factory, clock, "ana")
    scope = ReplicaScope(STATION)
    refresh_replica(uow_factory, store, scope, clock)
    with engine.begin() as conn:
        conn.execute(
            update(patients).where(patients.c.id == world.patients["ana"]).values(given_name="Anya")
        )
    _order(world, uow_factory, clock, "cai")
    _stamp(engine, clock, OLD)
    holes = refresh_module._holes

    def prune_then_holes(*args: Any) -> Any:
        prune_replica_log(uow_factory, clock)
        return holes(*args)

    monkeypatch.setattr(refresh_module, "_holes", prune_then_holes)
    assert refresh_replica(uow_factory, store, scope, clock).full
    with store.engine.connect() as conn:
        names = set(conn.scalars(select(patients.c.given_name)))
    assert names == {"Anya", "Cai"}


def test_a_station_file_is_never_pruned(
    store: StationStore, clock: FixedClock, station_world: object
) -> None:
    with pytest.raises(ValidationError, match="station file"):
        prune_replica_log(UnitOfWorkFactory(store.engine), clock)


def test_the_keep_window_outlasts_the_hole_grace(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    with pytest.raises(ValueError, match="hole grace"):
        prune_replica_log(uow_factory, clock, refresh_module.HOLE_GRACE)
