"""The station router: offline work on the station file, replayed once with the same IDs.

Each backend (SQLite, PostgreSQL) is the server; the station file is always SQLite. The
replica is seeded by copying the server's rows (what the replica refresh does).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, text
from station_world import StationWorld, add_order, build_station_world, draw_and_scan_back

from labdesk.access.audit_log import verify_audit_log
from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.adapters.orm import (
    audit_entries,
    custody_events,
    metadata,
    specimens,
)
from labdesk.adapters.orm.downtime import reconciliation_items, replayed_commands
from labdesk.adapters.orm.station import scan_alarms
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.verify import verify_chains
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import LabdeskError
from labdesk.domain.result import AckMeaning
from labdesk.downtime.mode import Connectivity, OfflineRefused, StationStatus
from labdesk.downtime.outbox import OutboxState
from labdesk.downtime.router import StationRouter
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import MessageBus
from labdesk.results.commands import AcknowledgeResults
from labdesk.station.commands import (
    CollectSpecimens,
    OpenEncounterByWristband,
    ScanBack,
)
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


def visit(
    router: StationRouter, world: StationWorld, wristband: str, actor: SignedInUser | None = None
) -> list[str]:
    """Open by wristband, collect the plan, scan every tube back; returns the accessions."""
    return draw_and_scan_back(router.bus, actor or world.ma, wristband, world.station_code)


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
    kept = [e for e in entries if e.state is OutboxState.CONFLICT]
    assert [e.command_type for e in kept] == ["CollectSpecimens", "ScanBack"]
    # The scan-back of the refused tube is held with its collection, not sent: the server
    # records no unknown-tube alarm for it, and it is on the server as held, not lost.
    assert "Not sent" in (kept[1].server_reason or "")
    assert len(_accessions(uow_factory.engine)) == 1
    with uow_factory.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(scan_alarms)) == 0
        outcomes = dict(
            conn.execute(
                select(replayed_commands.c.idempotency_key, replayed_commands.c.outcome).where(
                    replayed_commands.c.idempotency_key.in_([e.key for e in kept])
                )
            ).all()
        )
        items = conn.scalar(select(func.count()).select_from(reconciliation_items))
    assert sorted(outcomes.values()) == ["held", "refused"]
    assert items == 1  # exactly one conflict in the worklist
    assert (first.status().conflicts, status.conflicts) == (0, 1)
    # Resolved on the server: the station's count follows at its next heartbeat refresh
    # (the conflict entries stay in its outbox, never deleted).
    from labdesk.domain.people import Role
    from labdesk.downtime.reconcile import Resolution, ResolveConflict

    with uow_factory.engine.connect() as conn:
        item_id = conn.scalar(select(reconciliation_items.c.id))
    MessageBus(uow_factory, clock).handle(
        ResolveConflict(
            item_id=int(item_id or 0),
            resolution=Resolution.KEEP_SERVER_DISCARD_OFFLINE,
            note="second tube discarded",
        ),
        world.users[Role.ADMIN],
    )
    assert second.keep_ready().conflicts == 0
    with other_store() as uow:
        assert uow.outbox.counts()[OutboxState.CONFLICT] == 2


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
    # The server's chain of each tube is the one an online visit leaves, at the offline times.
    with uow_factory() as uow:
        for s in collected.specimens:
            specimen = uow.specimens.by_accession(s.accession)
            assert specimen is not None
            assert specimen.id is not None
            events = uow.custody.for_specimen(specimen.id)
            assert [e.kind.value for e in events] == ["collected", "labelled", "verified"]
            labelled = next(e for e in events if e.kind.value == "labelled")
            assert "printed offline" in labelled.note
    # A reprint by accession offline (the print queue, the command line) reaches the server's
    # audit as well, printed once.
    from labdesk.printing.commands import PrintSpecimenLabels

    router.go_offline("server down again")
    first = collected.specimens[0].accession
    bus.handle(PrintSpecimenLabels(setup=setup, accessions=(first,)), world.ma)
    again = sorted(p.name for p in spool.rglob("*") if p.is_file())
    assert len(again) > len(printed)
    with store() as uow:
        assert uow.outbox.pending()[-1].command_type == "RecordOfflineSpecimenLabels"
    assert router.resync().pending == 0
    assert sorted(p.name for p in spool.rglob("*") if p.is_file()) == again  # none twice
    with uow_factory.engine.connect() as conn:
        details = conn.scalars(
            select(audit_entries.c.detail).where(audit_entries.c.action == AuditAction.PRINT)
        ).all()
    assert sum("printed offline" in d for d in details) == 1


def test_an_online_station_keeps_its_replica_and_block_ready(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, store: StationStore
) -> None:
    from labdesk.downtime.blocks import BlockPolicy, remaining
    from labdesk.replica.refresh import refresh_replica
    from labdesk.replica.scope import ReplicaScope

    add_order(uow_factory, clock, world.patients["ana"], ("CBC",))
    router = StationRouter(
        uow_factory,
        store,
        clock,
        sync_server=lambda: ServerSync(uow_factory, clock),
        refresh=lambda: refresh_replica(
            uow_factory, store, ReplicaScope(world.station_code), clock
        ),
    )
    assert router.status().replica_refreshed_at is None
    status = router.keep_ready(BlockPolicy(size=30, top_up_below=10))
    assert status.replica_refreshed_at == clock.now()  # the status bar shows its age
    with store() as uow:
        assert remaining(uow.blocks.all(), clock.now().year) == 30
    router.keep_ready(BlockPolicy(size=30, top_up_below=10))  # enough left: no new block
    with store() as uow:
        assert len(uow.blocks.all()) == 1
    router.go_offline("server down")
    offline = router.keep_ready(BlockPolicy(size=30, top_up_below=10))
    assert offline.connectivity is Connectivity.OFFLINE  # nothing is asked of a lost server
    # The station's own files say how old the replica is, after a restart too.
    again = StationRouter(
        uow_factory, store, clock, sync_server=lambda: ServerSync(uow_factory, clock)
    )
    assert again.status().replica_refreshed_at is not None


def test_offline_sign_in_goes_through_the_router_and_only_its_audit_is_queued(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, store: StationStore
) -> None:
    from labdesk.access.commands import SignIn, SignInWithBadge
    from labdesk.domain.errors import AuthenticationError
    from labdesk.domain.people import Role
    from labdesk.replica.refresh import refresh_replica
    from labdesk.replica.scope import ReplicaScope
    from labdesk.seed.builder import ClinicBuilder
    from labdesk.seed.reference import StaffSpec

    secret, pin = "seven purple giraffes dancing", "480613"
    with uow_factory() as uow:
        build = ClinicBuilder(uow, clock)
        for name, badge in (("known", "B-1"), ("unseen", "B-2")):
            spec = StaffSpec(name, name.title(), Role.MEDICAL_ASSISTANT)
            build.user(spec, password=secret, badge_id=badge, pin=pin)
        uow.commit()
    router = StationRouter(
        uow_factory,
        store,
        clock,
        sync_server=lambda: ServerSync(uow_factory, clock),
        refresh=lambda: refresh_replica(
            uow_factory, store, ReplicaScope(world.station_code), clock
        ),
    )
    station = world.station_code
    router.bus.handle(SignIn(username="known", password=secret, station=station))  # online
    router.keep_ready()
    router.go_offline("server down")
    offline = router.bus.handle(SignIn(username="known", password=secret, station=station))
    assert offline.username == "known"
    by_badge = router.bus.handle(SignInWithBadge(badge_id="B-1", pin=pin, station=station))
    assert by_badge.username == "known"
    with pytest.raises(AuthenticationError):  # never signed in at this station
        router.bus.handle(SignIn(username="unseen", password=secret, station=station))
    with store() as uow:
        entries = uow.outbox.all()
    # What goes to the outbox is each attempt's audit, never the password or PIN.
    assert [e.command_type for e in entries] == ["RecordOfflineAudit"] * 3
    assert not any(secret in e.payload_json or pin in e.payload_json for e in entries)
    assert router.status().pending == 3

    def server_sign_ins() -> list[tuple[str, str, str]]:
        with uow_factory.engine.connect() as conn:
            rows = conn.execute(
                select(audit_entries.c.entity_id, audit_entries.c.outcome, audit_entries.c.detail)
                .where(audit_entries.c.action == AuditAction.SIGN_IN)
                .order_by(audit_entries.c.id)
            ).all()
        return [tuple(r) for r in rows]

    online_only = server_sign_ins()
    assert router.resync().connectivity is Connectivity.ONLINE
    arrived = server_sign_ins()[len(online_only) :]
    assert len(arrived) == 3  # two sign-ins of "known", one refused attempt
    assert all(detail.startswith("offline: ") for _id, _outcome, detail in arrived)
    assert sum(outcome == "success" for _id, outcome, _detail in arrived) == 2
    with uow_factory() as uow:
        assert verify_audit_log(uow, clock, None, record=False).ok
    router.go_offline("again")
    assert router.resync().pending == 0
    assert len(server_sign_ins()) == len(online_only) + 3  # each copy applied once


def test_after_replay_the_station_file_holds_the_servers_rows_not_its_own(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    world: StationWorld,
    store: StationStore,
    tmp_path: Path,
) -> None:
    """Two stations draw two patients offline; both tubes get local id 1, the server's are
    1 and 2. After replay each station file holds the server's rows under the server's ids
    (a tube awaiting pickup at the site shows on both), and none of its own offline rows."""
    from labdesk.access.commands import SignIn
    from labdesk.adapters.orm import custody_events as events_table
    from labdesk.domain.people import Role
    from labdesk.downtime.blocks import BlockPolicy
    from labdesk.replica.refresh import refresh_replica
    from labdesk.replica.scope import ReplicaScope
    from labdesk.seed.builder import ClinicBuilder
    from labdesk.seed.reference import StaffSpec

    add_order(uow_factory, clock, world.patients["ana"], ("CBC",))
    add_order(uow_factory, clock, world.patients["ben"], ("CBC",))
    secret = "seven purple giraffes dancing"
    with uow_factory() as uow:
        ClinicBuilder(uow, clock).user(
            StaffSpec("drawer", "Drawer", Role.MEDICAL_ASSISTANT), password=secret
        )
        uow.commit()
    other = open_station_store(tmp_path / "other.sqlite3", world.station_code)
    routers = []
    for station_file in (store, other):
        router = StationRouter(
            uow_factory,
            station_file,
            clock,
            sync_server=lambda: ServerSync(uow_factory, clock),
            refresh=lambda f=station_file: refresh_replica(  # type: ignore[misc]
                uow_factory, f, ReplicaScope(world.station_code), clock
            ),
        )
        drawer = router.bus.handle(
            SignIn(username="drawer", password=secret, station=world.station_code)
        )
        router.keep_ready(BlockPolicy(size=20, top_up_below=5))
        router.go_offline("server down")
        routers.append(router)
    drawn = visit(routers[0], world, "WB-M200001", drawer)
    drawn += visit(routers[1], world, "WB-M200002", drawer)
    with UnitOfWorkFactory(store.engine)() as uow, UnitOfWorkFactory(other.engine)() as uow2:
        local = [uow.specimens.by_accession(drawn[0]), uow2.specimens.by_accession(drawn[1])]
        assert [s.id for s in local if s is not None] == [1, 1]  # the same local id, two tubes
    for router in routers:
        assert router.resync().connectivity is Connectivity.ONLINE
    routers[0].keep_ready()  # the first station's next refresh brings the second's tube
    with uow_factory() as uow:
        found = {a: uow.specimens.by_accession(a) for a in drawn}
        on_server = {a: s.id if s is not None else None for a, s in found.items()}
    for station_file in (store, other):
        with UnitOfWorkFactory(station_file.engine)() as uow:
            for accession, server_id in on_server.items():
                here = uow.specimens.by_accession(accession)
                assert here is not None
                assert server_id is not None
                assert here.id == server_id  # the server's id, not the local one
            assert uow.session.scalar(select(func.count()).select_from(specimens)) == 2
            assert uow.session.scalar(select(func.count()).select_from(events_table)) == 0
    other.close()
