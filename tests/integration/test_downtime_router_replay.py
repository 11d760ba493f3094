"""The station router's replay where ids and answers go astray (SQLite and PostgreSQL).

An order placed offline and collected offline must reach the server's own tests; a
collection the server committed while its answer was lost must not be recorded twice nor
under the labels' block accessions; and online writes ask for the replica refresh that
lets a visit just opened go on offline.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from station_world import StationWorld, add_order
from test_downtime_router import _accessions, make_router, visit

from labdesk.adapters.downtime.ids import order_test_ids
from labdesk.adapters.downtime.station_store import StationStore
from labdesk.adapters.orm import ordered_tests, orders
from labdesk.adapters.orm.downtime import reconciliation_items, replayed_commands
from labdesk.adapters.orm.station import encounters
from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkFactory
from labdesk.custody.verify import verify_chains
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import StorageError
from labdesk.downtime.mode import Connectivity
from labdesk.downtime.outbox import OutboxState
from labdesk.station.commands import (
    CollectSpecimens,
    OpenEncounterByWristband,
    PlaceOrder,
    ScanBack,
)
from labdesk.station.dto import ContainerCollection
from labdesk.station.encounter import load_encounter

pytestmark = pytest.mark.integration


def test_a_collection_of_an_order_placed_offline_reaches_the_servers_tests(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: StationWorld,
    station_file: StationStore,
) -> None:
    router = make_router(uow_factory, station_file, clock)
    router.go_offline("the server did not answer within 2 s")
    order_id = router.bus.handle(
        PlaceOrder(
            patient_id=station_world.patients["ben"],
            test_codes=("CMP", "CBC"),
            ordering_provider="Dr. Offline",
            station_code=station_world.station_code,
        ),
        station_world.ma,
    )
    # Meanwhile the server gives the next ordered-test ids to another patient's order, so
    # the station's local ids of the offline order's tests now name that patient's tests.
    others = add_order(uow_factory, clock, station_world.patients["cai"], ("CBC", "CMP"))
    with station_file() as uow:
        local = order_test_ids(uow.session, order_id)
    assert set(local) & set(others), "the test needs colliding ids to mean anything"

    accessions = visit(router, station_world, "WB-M200002")
    assert len(accessions) == 2
    status = router.resync()
    assert (status.connectivity, status.pending) == (Connectivity.ONLINE, 0)
    assert status.conflicts == 1  # only the offline order, to check against its requisition
    with uow_factory.engine.connect() as conn:
        assert conn.scalars(select(reconciliation_items.c.kind)).all() == ["offline_order"]

    with uow_factory.engine.connect() as conn:
        rows = conn.execute(
            select(ordered_tests.c.id, ordered_tests.c.status, orders.c.patient_id)
            .join(orders, orders.c.id == ordered_tests.c.order_id)
            .where(ordered_tests.c.specimen_id.is_not(None))
        ).all()
        cai_collected = conn.scalar(
            select(func.count())
            .select_from(ordered_tests)
            .where(ordered_tests.c.id.in_(others), ordered_tests.c.specimen_id.is_not(None))
        )
    assert cai_collected == 0  # the other patient's tests were never touched
    assert {r.patient_id for r in rows} == {station_world.patients["ben"]}
    assert len(rows) == 2  # both of the offline order's tests, on the server's ids
    with uow_factory() as uow:
        assert verify_chains(uow).ok


def test_a_collection_whose_answer_was_lost_is_flagged_for_relabelling(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: StationWorld,
    station_file: StationStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_order(uow_factory, clock, station_world.patients["ana"], ("CBC", "CMP"))
    router = make_router(uow_factory, station_file, clock)
    bus, who = router.bus, station_world.ma
    eid = bus.handle(OpenEncounterByWristband(scanned="WB-M200001", station_code="DRAW-2"), who)
    with uow_factory.engine.connect() as src, station_file.engine.begin() as dst:
        # the heartbeat's replica refresh brought the visit to the station file
        dst.execute(insert(encounters), [dict(r._mapping) for r in src.execute(select(encounters))])
    view = bus.query(load_encounter, who, eid)

    # The server commits the collection, then the connection drops before the answer.
    commit = SqlAlchemyUnitOfWork.commit
    lost = {"armed": True}

    def commit_then_lose_the_answer(uow: SqlAlchemyUnitOfWork) -> None:
        commit(uow)
        if lost["armed"] and uow.session.get_bind() is uow_factory.engine:
            lost["armed"] = False
            raise StorageError("the server did not answer (connection reset)")

    monkeypatch.setattr(SqlAlchemyUnitOfWork, "commit", commit_then_lose_the_answer)
    result = bus.handle(
        CollectSpecimens(
            encounter_id=eid,
            containers=tuple(
                ContainerCollection(c.container_code, c.ordered_test_ids)
                for c in view.plan.containers
            ),
        ),
        who,
    )
    monkeypatch.setattr(SqlAlchemyUnitOfWork, "commit", commit)
    assert router.status().connectivity is Connectivity.OFFLINE
    offline = [s.accession for s in result.specimens]  # what the labels carry
    for accession in offline:
        bus.handle(ScanBack(encounter_id=eid, scanned=accession), who)
    on_server = _accessions(uow_factory.engine)
    assert len(on_server) == 2
    assert not set(on_server) & set(offline)

    status = router.resync()
    assert (status.connectivity, status.pending) == (Connectivity.ONLINE, 0)
    assert status.conflicts == 1  # one item: the collection; its two scan-backs wait with it
    assert _accessions(uow_factory.engine) == on_server  # nothing applied twice
    with uow_factory.engine.connect() as conn:
        [item] = conn.execute(select(reconciliation_items)).all()
        held = conn.scalar(
            select(func.count())
            .select_from(replayed_commands)
            .where(replayed_commands.c.outcome == "held")
        )
    assert item.kind == "accessions_differ"
    assert all(a in item.server_reason for a in offline + on_server)
    assert held == 2
    with station_file() as uow:
        assert uow.outbox.counts()[OutboxState.CONFLICT] == 3
    with uow_factory() as uow:
        assert verify_chains(uow).ok


def test_an_online_write_asks_for_a_replica_refresh_soon(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: StationWorld,
    station_file: StationStore,
) -> None:
    add_order(uow_factory, clock, station_world.patients["ana"], ("CBC",))
    router = make_router(uow_factory, station_file, clock)
    assert router.take_changed() is False
    router.bus.handle(
        OpenEncounterByWristband(scanned="WB-M200001", station_code=station_world.station_code),
        station_world.ma,
    )
    assert router.take_changed() is True
    assert router.take_changed() is False  # asked once
    router.go_offline("server down")
    router.bus.handle(
        OpenEncounterByWristband(scanned="WB-M200002", station_code=station_world.station_code),
        station_world.ma,
    )
    assert router.take_changed() is False  # offline work waits for the replay, not a refresh
