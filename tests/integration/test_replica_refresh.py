"""The station replica: first copy in scope, incremental refresh, deletes, pull, sign-in.

Runs on both server backends (``engine`` fixture); the replica is always the station file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select, text, update

from labdesk.access.auth import authenticate, authenticate_badge
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.adapters.orm import ordered_tests, orders, patient_identifiers, patients, users
from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import AuthenticationError
from labdesk.domain.people import Role
from labdesk.replica.refresh import pull_rows, refresh_replica, replica_refreshed_at
from labdesk.replica.scope import ReplicaScope
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.reference import StaffSpec
from labdesk.station.orders import patient_orders, plan_for

PASSWORD = "seven purple giraffes dancing"
PIN = "480613"
STATION = "DRAW-2"


@pytest.fixture
def store(tmp_path: Path, station_world: object) -> StationStore:
    return open_station_store(tmp_path / "station.sqlite3", STATION)


def _users(uows: UnitOfWorkFactory, clock: FixedClock) -> dict[str, int]:
    ids = {}
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        for name, badge in (("known", "B-1"), ("gone", "B-2"), ("unseen", None)):
            user = build.user(
                StaffSpec(name, name.title(), Role.MEDICAL_ASSISTANT),
                password=PASSWORD,
                badge_id=badge,
                pin=PIN if badge else None,
            )
            assert user.id is not None
            ids[name] = user.id
        uow.commit()
    for name in ("known", "gone"):  # signed in here online: the replica keeps them
        with uows() as uow:
            authenticate(uow, clock, name, PASSWORD, station=STATION)
    return ids


def _pw(uows: UnitOfWorkFactory, clock: FixedClock, name: str, secret: str, **kw: str) -> object:
    with uows() as uow:
        return authenticate(uow, clock, name, secret, **kw)


def _badge(uows: UnitOfWorkFactory, clock: FixedClock, badge: str, pin: str, **kw: str) -> object:
    with uows() as uow:
        return authenticate_badge(uow, clock, badge, pin, **kw)


def _count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table).where(*where)))  # type: ignore[arg-type]


def _order(world: object, uows: UnitOfWorkFactory, clock: FixedClock, who: str, **kw: int) -> None:
    add_order = __import__("station_world").add_order
    add_order(uows, clock, world.patients[who], ("CBC", "BMP"), **kw)  # type: ignore[attr-defined]


def test_first_copy_holds_the_scope_and_plans_offline(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, station_world: object, store: StationStore
) -> None:
    _order(station_world, uow_factory, clock, "ana")
    _order(station_world, uow_factory, clock, "ben", minutes_ago=20 * 24 * 60)  # too old
    scope = ReplicaScope(STATION)
    report = refresh_replica(uow_factory, store, scope, clock)
    assert report.full
    assert report.rows > 0
    assert replica_refreshed_at(store) == clock.now()
    world = station_world
    ana, ben = world.patients["ana"], world.patients["ben"]  # type: ignore[attr-defined]
    assert _count(store.engine, patients, patients.c.id == ana) == 1
    assert _count(store.engine, patients, patients.c.id == ben) == 0  # order outside window
    assert _count(store.engine, orders) == 1
    assert _count(store.engine, ordered_tests) == 2
    assert _count(store.engine, patient_identifiers, patient_identifiers.c.patient_id == ana) > 0
    with SqlAlchemyUnitOfWork(store.engine) as uow:
        plan = plan_for(uow, patient_orders(uow, ana))
    assert plan.containers
    assert not plan.problems
    # Nothing changed: an incremental refresh writes nothing.
    again = refresh_replica(uow_factory, store, scope, clock)
    assert (again.full, again.rows) == (False, 0)


def test_incremental_brings_only_the_changed_rows_and_deletes(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> None:
    _order(station_world, uow_factory, clock, "ana")
    scope = ReplicaScope(STATION)
    refresh_replica(uow_factory, store, scope, clock)
    ana = station_world.patients["ana"]  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == ana).values(given_name="Anya"))
    report = refresh_replica(uow_factory, store, scope, clock)
    assert (report.full, report.rows) == (False, 1)
    with store.engine.connect() as conn:
        assert conn.scalar(select(patients.c.given_name).where(patients.c.id == ana)) == "Anya"
    # A new order brings its (already known or new) patient; completing it drops it all.
    _order(station_world, uow_factory, clock, "cai")
    refresh_replica(uow_factory, store, scope, clock)
    cai = station_world.patients["cai"]  # type: ignore[attr-defined]
    assert _count(store.engine, patients, patients.c.id == cai) == 1
    with engine.begin() as conn:
        conn.execute(update(orders).where(orders.c.patient_id == cai).values(status="completed"))
    refresh_replica(uow_factory, store, scope, clock)
    assert _count(store.engine, patients, patients.c.id == cai) == 0
    assert _count(store.engine, orders, orders.c.patient_id == cai) == 0
    # pull_rows re-fetches named rows; a row the server no longer has goes.
    with engine.begin() as conn:
        [ot] = (
            conn.execute(
                select(ordered_tests.c.id).join(orders).where(orders.c.patient_id == ana).limit(1)
            )
            .scalars()
            .all()
        )
    with store.engine.begin() as conn:
        conn.execute(
            update(ordered_tests).where(ordered_tests.c.id == ot).values(status="collected")
        )
    assert pull_rows(uow_factory, store, {"ordered_tests": [ot]}) == 1
    with store.engine.connect() as conn:
        assert (
            conn.scalar(select(ordered_tests.c.status).where(ordered_tests.c.id == ot)) == "ordered"
        )
    with engine.begin() as conn:
        conn.execute(delete(ordered_tests).where(ordered_tests.c.id == ot))
    refresh_replica(uow_factory, store, scope, clock)
    assert _count(store.engine, ordered_tests, ordered_tests.c.id == ot) == 0


def test_offline_sign_in_only_for_users_seen_here_and_enabled(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> None:
    ids = _users(uow_factory, clock)
    scope = ReplicaScope(STATION)
    refresh_replica(uow_factory, store, scope, clock)
    local = UnitOfWorkFactory(store.engine)
    assert _pw(local, clock, "known", PASSWORD, station=STATION).id == ids["known"]  # type: ignore[attr-defined]
    assert _badge(local, clock, "B-1", PIN, station=STATION).id == ids["known"]  # type: ignore[attr-defined]
    with pytest.raises(AuthenticationError):  # never signed in here: not in the replica
        _pw(local, clock, "unseen", PASSWORD, station=STATION)
    assert _pw(local, clock, "gone", PASSWORD, station=STATION).id == ids["gone"]  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == ids["gone"]).values(active=False))
    refresh_replica(uow_factory, store, scope, clock)
    with pytest.raises(AuthenticationError, match="disabled"):
        _pw(local, clock, "gone", PASSWORD, station=STATION)
    with pytest.raises(AuthenticationError, match="disabled"):
        _badge(local, clock, "B-2", PIN, station=STATION)
    # A month without signing in here: the user leaves the replica.
    later = FixedClock(clock.now() + timedelta(days=31))
    refresh_replica(uow_factory, store, scope, later)
    assert _count(store.engine, users, users.c.id == ids["known"]) == 0


def _late_commit(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> tuple[ReplicaScope, int, int]:
    """Ana's change refreshed as log number top+11 while top+1..top+10 still run; then
    Ben's change commits with number top+1. Returns the scope and the two patients."""
    from labdesk.adapters.orm.replica import replica_log

    _order(station_world, uow_factory, clock, "ana")
    _order(station_world, uow_factory, clock, "ben")
    scope = ReplicaScope(STATION)
    refresh_replica(uow_factory, store, scope, clock)
    ana = station_world.patients["ana"]  # type: ignore[attr-defined]
    ben = station_world.patients["ben"]  # type: ignore[attr-defined]
    with engine.begin() as conn:
        top = int(conn.scalar(select(func.max(replica_log.c.seq))) or 0)
        conn.execute(update(patients).where(patients.c.id == ana).values(given_name="Anya"))
        # Ana's change shows as top+11; top+1..top+10 belong to transactions still running.
        conn.execute(
            update(replica_log).where(replica_log.c.seq > top).values(seq=replica_log.c.seq + 10)
        )
    assert refresh_replica(uow_factory, store, scope, clock).seq == top + 11
    with engine.begin() as conn:  # ... and one of them commits now, with its number top+1
        conn.execute(update(patients).where(patients.c.id == ben).values(given_name="Benno"))
        conn.execute(
            update(replica_log)
            .where(
                replica_log.c.table_name == "patients",
                replica_log.c.row_id == str(ben),
                replica_log.c.seq > top,
            )
            .values(seq=top + 1)
        )
    return scope, ana, ben


HOLES_SQL = text("SELECT value FROM station_meta WHERE key = 'replica_holes'")


def _names_and_holes(store: StationStore) -> tuple[dict[int, str], object]:
    with store.engine.connect() as conn:
        names = dict(conn.execute(select(patients.c.id, patients.c.given_name)).all())
        return names, conn.scalar(HOLES_SQL)


def test_a_change_committed_after_a_later_one_is_still_applied(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> None:
    """A log number can commit after a higher one (PostgreSQL): it is a hole, asked again."""
    scope, ana, ben = _late_commit(engine, uow_factory, clock, station_world, store)
    refresh_replica(uow_factory, store, scope, clock)
    names, holes = _names_and_holes(store)
    assert (names[ana], names[ben]) == ("Anya", "Benno")
    assert holes not in (None, "{}")  # the rest are still looked for
    # Holes that never fill (rolled-back transactions) are forgotten after the grace.
    refresh_replica(uow_factory, store, scope, FixedClock(clock.now() + timedelta(hours=1)))
    assert _names_and_holes(store)[1] == "{}"


def test_a_hole_that_fills_while_the_station_was_away_is_still_applied(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> None:
    """A hole that commits while the station is away past the grace is asked for once more."""
    scope, ana, ben = _late_commit(engine, uow_factory, clock, station_world, store)
    later = FixedClock(clock.now() + timedelta(hours=1))  # the station was off for an hour
    refresh_replica(uow_factory, store, scope, later)
    names, holes = _names_and_holes(store)
    assert (names[ana], names[ben]) == ("Anya", "Benno")
    assert holes == "{}"  # the rest never came: forgotten after that last ask
