"""The station router: offline work on the station file, replayed once with the same IDs.

Each backend (SQLite, PostgreSQL) is the server; the station file is always SQLite. The
replica is seeded by copying the server's rows (what the replica refresh does).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, text
from station_world import StationWorld, add_order, build_station_world

from labdesk.access.audit_log import verify_audit_log
from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.adapters.orm import custody_events, metadata, specimens
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.verify import verify_chains
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import LabdeskError
from labdesk.domain.result import AckMeaning
from labdesk.downtime.mode import Connectivity, OfflineRefused, StationStatus
from labdesk.downtime.outbox import OutboxState
from labdesk.downtime.router import StationRouter
from labdesk.results.commands import AcknowledgeResults
from labdesk.station.commands import CollectSpecimens, OpenEncounterByWristband, ScanBack
from labdesk.station.dto import ContainerCollection
from labdesk.station.encounter import load_encounter

pytestmark = pytest.mark.integration


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> StationWorld:
    return build_station_world(uow_factory, clock)


def seed_replica(server: Engine, store: StationStore) -> None:
    """Copy every server row into the station file (the refresh's job, done wholesale)."""
    with server.connect() as src, store.engine.begin() as dst:
        dst.execute(text("PRAGMA foreign_keys=OFF"))
        for table in metadata.sorted_tables:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            dst.execute(table.delete())
            if rows:
                dst.execute(insert(table), rows)


def make_router(
    uows: UnitOfWorkFactory, store: StationStore, clock: FixedClock, blocks: int = 1, size: int = 20
) -> StationRouter:
    server = ServerSync(uows, clock)
    for _ in range(blocks):
        block = server.reserve_block(store.station, clock.now().year, size)
        with store() as uow:
            uow.blocks.put(block)
            uow.commit()
    seed_replica(uows.engine, store)
    return StationRouter(uows, store, clock, sync_server=lambda: ServerSync(uows, clock))


def visit(router: StationRouter, world: StationWorld, wristband: str) -> list[str]:
    """Open by wristband, collect the plan, scan every tube back; returns the accessions."""
    bus = router.bus
    eid = bus.handle(
        OpenEncounterByWristband(scanned=wristband, station_code=world.station_code), world.ma
    )
    view = bus.query(load_encounter, world.ma, eid)
    result = bus.handle(
        CollectSpecimens(
            encounter_id=eid,
            containers=tuple(
                ContainerCollection(
                    c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml
                )
                for c in view.plan.containers
            ),
        ),
        world.ma,
    )
    accessions = [s.accession for s in result.specimens]
    for accession in accessions:
        bus.handle(ScanBack(encounter_id=eid, scanned=accession), world.ma)
    return accessions


@pytest.fixture
def store(tmp_path: Path, world: StationWorld) -> StationStore:
    return open_station_store(tmp_path / "station.sqlite3", world.station_code)


def _accessions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(specimens.c.accession)).scalars())


def test_a_visit_offline_replays_with_the_same_accessions(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, store: StationStore
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("CBC", "CMP"))
    router = make_router(uow_factory, store, clock)
    seen: list[StationStatus] = []
    router.subscribe(seen.append)
    router.go_offline("the server did not answer within 2 s")
    assert router.status().connectivity is Connectivity.OFFLINE
    offline = visit(router, world, "WB-M200001")
    assert len(offline) == 2
    assert _accessions(uow_factory.engine) == []  # nothing reached the server yet
    assert router.status().pending >= 4
    with store() as uow:
        entries = uow.outbox.all()
    [collect] = [e for e in entries if e.command_type == "CollectSpecimens"]
    assert len(collect.pins) == 2  # the block serials it took

    status = router.resync()
    assert status.connectivity is Connectivity.ONLINE
    assert (status.pending, status.conflicts) == (0, 0)
    assert _accessions(uow_factory.engine) == sorted(offline)  # the labels' IDs
    assert seen[-1] == status
    with uow_factory() as uow:
        assert verify_audit_log(uow, clock, None, record=False).ok
        assert verify_chains(uow).ok
        custody_rows = uow.session.scalar(select(func.count()).select_from(custody_events))
    assert (custody_rows or 0) > 0  # the offline collection's custody, replayed
    # A second resync sends nothing twice.
    router.go_offline("again")
    assert router.resync().connectivity is Connectivity.ONLINE
    assert len(_accessions(uow_factory.engine)) == 2


def test_two_stations_collecting_the_same_order_give_one_conflict(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    world: StationWorld,
    store: StationStore,
    tmp_path: Path,
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("CBC",))
    first = make_router(uow_factory, store, clock)
    other_store = open_station_store(tmp_path / "other.sqlite3", world.station_code)
    second = make_router(uow_factory, other_store, clock)
    for router in (first, second):
        router.go_offline("server down")
        visit(router, world, "WB-M200001")
    assert first.resync().connectivity is Connectivity.ONLINE
    status = second.resync()
    assert status.connectivity is Connectivity.ONLINE  # a conflict does not keep it offline
    assert status.conflicts >= 1
    with other_store() as uow:
        entries = uow.outbox.all()
    assert all(e.state is not OutboxState.PENDING for e in entries)  # none lost
    assert [e.command_type for e in entries if e.state is OutboxState.CONFLICT] == [
        "CollectSpecimens"
    ]
    assert len(_accessions(uow_factory.engine)) == 1


def test_work_that_needs_the_server_is_refused_offline(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, store: StationStore
) -> None:
    router = make_router(uow_factory, store, clock)
    router.go_offline("server down")
    command = AcknowledgeResults(ordered_test_ids=(1,), meaning=next(iter(AckMeaning)))
    with pytest.raises(OfflineRefused, match="Acknowledge results needs the server") as refused:
        router.bus.handle(command, world.ma)
    assert refused.value.hint
    assert router.status().pending == 0


def test_an_exhausted_block_refuses_collection_clearly(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, store: StationStore
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("CBC", "CMP"))
    router = make_router(uow_factory, store, clock, size=1)
    router.go_offline("server down")
    with pytest.raises(LabdeskError, match="accession") as refused:
        visit(router, world, "WB-M200001")
    assert refused.value.hint
    with store() as uow:
        assert [e.command_type for e in uow.outbox.all()] == ["OpenEncounterByWristband"]
        assert uow.session.scalar(select(func.count()).select_from(specimens)) == 0


def test_labels_printed_offline_are_not_printed_again_by_the_server(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, tmp_path: Path
) -> None:
    from labdesk.adapters.orm import print_jobs
    from labdesk.printing.dto import PrintSetup
    from labdesk.station.commands import PrintEncounterLabels
    from printers.spool_adapter import LabelRendererAdapter, open_spool_printer

    spool = tmp_path / "labels"
    world = build_station_world(uow_factory, clock, label_printer_uri=f"file://{spool}")
    add_order(uow_factory, clock, world.patients["ana"], ("CBC", "CMP"))
    store = open_station_store(tmp_path / "station.sqlite3", world.station_code)
    router = make_router(uow_factory, store, clock)
    router.go_offline("server down")
    bus = router.bus
    eid = bus.handle(
        OpenEncounterByWristband(scanned="WB-M200001", station_code=world.station_code), world.ma
    )
    view = bus.query(load_encounter, world.ma, eid)
    collected = bus.handle(
        CollectSpecimens(
            encounter_id=eid,
            containers=tuple(
                ContainerCollection(
                    c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml
                )
                for c in view.plan.containers
            ),
        ),
        world.ma,
    )
    setup = PrintSetup(
        station_code=world.station_code,
        opener=open_spool_printer,
        renderer=LabelRendererAdapter(),
    )
    bus.handle(PrintEncounterLabels(setup=setup, encounter_id=eid), world.ma)
    printed = sorted(p.name for p in spool.rglob("*") if p.is_file())
    assert len(printed) >= len(collected.specimens)  # printed at the station, offline
    for s in collected.specimens:
        bus.handle(ScanBack(encounter_id=eid, scanned=s.accession), world.ma)
    assert router.resync().connectivity is Connectivity.ONLINE
    assert _accessions(uow_factory.engine) == sorted(s.accession for s in collected.specimens)
    with uow_factory.engine.connect() as conn:
        queued = conn.scalar(
            select(func.count())
            .select_from(print_jobs)
            .where(print_jobs.c.status.in_(["queued", "sent"]))
        )
    assert queued == 0  # nothing left for the server's spooler
    assert sorted(p.name for p in spool.rglob("*") if p.is_file()) == printed  # none twice
