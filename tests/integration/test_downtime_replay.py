"""Replay through the server's handlers: each command once, both times kept, refusals kept.

Checked on the server: orders, ``handled_commands`` keys and ``replayed_commands`` rows.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from labdesk.access.audit_log import verify_audit_log
from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.adapters.orm import orders, print_jobs
from labdesk.adapters.orm.commands import handled_commands
from labdesk.adapters.orm.downtime import reconciliation_items, replayed_commands
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.downtime.errors import CommandRefused, OutboxUnreadable
from labdesk.downtime.offline import queue_command
from labdesk.downtime.outbox import OutboxEntry, OutboxState
from labdesk.downtime.replay import replay_outbox
from labdesk.kernel import command_codec
from labdesk.kernel.messagebus import MessageBus
from labdesk.printing.commands import PrintTestLabel
from labdesk.printing.dto import PrintSetup
from labdesk.station.commands import PlaceOrder
from printers.spool_adapter import LabelRendererAdapter, open_spool_printer

OFFLINE = timedelta(hours=-3)  # the outage began three hours before the clock's "now"


@pytest.fixture
def store(tmp_path: Path, station_world: object) -> StationStore:
    return open_station_store(tmp_path / "station.sqlite3", "DRAW-2")


def _queue(store: StationStore, world: object, clock: FixedClock, codes: list[str]) -> list[str]:
    """One offline order per code, a minute apart from three hours ago; returns the keys."""
    at = FixedClock(clock.now() + OFFLINE)
    keys = []
    for i, code in enumerate(codes):
        command = PlaceOrder(
            patient_id=world.patients["ana"],  # type: ignore[attr-defined]
            test_codes=(code,),
            ordering_provider="Dr. Offline",
            station_code="DRAW-2",
        )
        with store() as uow:
            queue_command(uow, command, world.ma, at)  # type: ignore[attr-defined]
            uow.commit()
        keys.append(command.idempotency_key)
        at.advance(timedelta(minutes=1 + i))
    return keys


def _count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table).where(*where)))  # type: ignore[arg-type]


def test_replay_applies_each_command_once_and_keeps_both_times(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> None:
    keys = _queue(store, station_world, clock, ["CBC", "BMP", "TSH"])
    server = ServerSync(uow_factory, clock)
    report = replay_outbox(store, server, clock)
    assert (report.sent, report.conflicts, report.left) == (3, 0, 0)
    with store() as uow:
        entries = uow.outbox.all()
    assert [e.state for e in entries] == [OutboxState.SYNCED] * 3
    assert all(e.synced_at == clock.now() for e in entries)
    with engine.connect() as conn:
        placed = conn.execute(
            select(orders.c.ordered_at).where(orders.c.ordering_provider == "Dr. Offline")
        ).scalars()
        assert sorted(placed) == [e.happened_at for e in entries]  # the offline times
        rows = conn.execute(select(replayed_commands).order_by(replayed_commands.c.seq)).all()
    assert [r.idempotency_key for r in rows] == keys
    assert [(r.happened_at, r.synced_at, r.outcome) for r in rows] == [
        (e.happened_at, clock.now(), "applied") for e in entries
    ]
    assert _count(engine, handled_commands, handled_commands.c.idempotency_key.in_(keys)) == 3
    # A second run sends nothing; the audit chain holds the offline entries and verifies.
    assert replay_outbox(store, server, clock).sent == 0
    assert _count(engine, orders, orders.c.ordering_provider == "Dr. Offline") == 3
    with uow_factory() as uow:
        assert verify_audit_log(uow, clock, None, record=False).ok
    # Each order placed offline waits in the reconciliation worklist for a person's review.
    with engine.connect() as conn:
        review = conn.execute(
            select(reconciliation_items.c.idempotency_key, reconciliation_items.c.kind)
        ).all()
    assert sorted(review) == sorted((key, "offline_order") for key in keys)


def test_a_refused_command_is_kept_with_the_servers_reason(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> None:
    keys = _queue(store, station_world, clock, ["CBC", "NOPE", "TSH"])
    report = replay_outbox(store, ServerSync(uow_factory, clock), clock)
    assert (report.sent, report.conflicts) == (2, 1)
    with store() as uow:
        [conflict] = uow.outbox.conflicts()
        assert uow.outbox.counts()[OutboxState.CONFLICT] == 1
    assert conflict.key == keys[1]
    assert "'NOPE' is not an orderable test" in (conflict.server_reason or "")
    assert command_codec.decode(conflict.payload_json).idempotency_key == keys[1]  # kept whole
    assert _count(engine, orders, orders.c.ordering_provider == "Dr. Offline") == 2
    assert _count(engine, handled_commands, handled_commands.c.idempotency_key == keys[1]) == 0
    with engine.connect() as conn:
        row = conn.execute(
            select(replayed_commands).where(replayed_commands.c.idempotency_key == keys[1])
        ).one()
    assert row.outcome == "refused"
    assert "NOPE" in row.reason
    # Not sent again by the next run: it waits for reconciliation.
    assert replay_outbox(store, ServerSync(uow_factory, clock), clock).sent == 0


def test_a_command_the_server_already_has_is_not_applied_again(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> None:
    """The server committed but the station never heard back (cut link, killed process)."""
    _queue(store, station_world, clock, ["CBC", "BMP"])
    server = ServerSync(uow_factory, clock)
    with store() as uow:
        first = uow.outbox.pending()[0]
    server.apply(command_codec.decode(first.payload_json), first, "DRAW-2")
    report = replay_outbox(store, server, clock)
    assert (report.sent, report.already) == (2, 1)
    assert _count(engine, orders, orders.c.ordering_provider == "Dr. Offline") == 2


def test_a_damaged_outbox_entry_sends_nothing(
    uow_factory: UnitOfWorkFactory,
    engine: Engine,
    clock: FixedClock,
    station_world: object,
    store: StationStore,
) -> None:
    _queue(store, station_world, clock, ["CBC", "BMP"])
    with store() as uow:
        uow.session.execute(text("UPDATE station_outbox SET payload_json = '{' WHERE seq = 2"))
        uow.commit()
    with pytest.raises(OutboxUnreadable, match="entry 2"):
        replay_outbox(store, ServerSync(uow_factory, clock), clock)
    assert _count(engine, orders, orders.c.ordering_provider == "Dr. Offline") == 0


def test_only_the_print_jobs_a_replayed_command_queues_are_recorded_as_printed(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
    tmp_path: Path,
) -> None:
    """The labels printed at the station; the spooler must not send them again."""
    setup = PrintSetup(
        station_code="DRAW-2", opener=open_spool_printer, renderer=LabelRendererAdapter()
    )
    uri = f"file://{tmp_path / 'labels'}"
    offline = clock.now() + OFFLINE
    ma = station_world.ma  # type: ignore[attr-defined]
    # A job the server queued itself, same station and same time: not the replay's to mark.
    online = MessageBus(uow_factory, FixedClock(offline)).handle(
        PrintTestLabel(setup=setup, printer_uri=uri), ma, after_commit=False
    )
    command = PrintTestLabel(setup=setup, printer_uri=uri)
    entry = OutboxEntry(
        seq=1,
        key=command.idempotency_key,
        command_type="PrintTestLabel",
        payload_json="{}",
        actor_id=ma.id,
        happened_at=offline,
        schema_version=command_codec.FORMAT,
        state=OutboxState.PENDING,
    )
    replayed = ServerSync(uow_factory, clock).apply(command, entry, "DRAW-2").result
    columns = (print_jobs.c.id, print_jobs.c.status, print_jobs.c.sent_at)
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(*columns))}
    assert set(rows) == {online, replayed}
    assert (rows[online].status, rows[online].sent_at) == ("queued", None)
    assert (rows[replayed].status, rows[replayed].sent_at) == ("done", offline)


def test_pinned_serials_are_checked_against_the_blocks_reserved_for_the_station(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, station_world: object
) -> None:
    """One sync run reads the blocks once, and again before refusing a serial it lacks."""
    ma = station_world.ma  # type: ignore[attr-defined]
    counter = f"accession-{clock.now().year}"
    server = ServerSync(uow_factory, clock)
    first = server.reserve_block("DRAW-2", clock.now().year, 5)

    def apply(serial: int) -> None:
        command = PlaceOrder(
            patient_id=station_world.patients["ana"],  # type: ignore[attr-defined]
            test_codes=("CBC",),
            ordering_provider="Dr. Offline",
        )
        entry = OutboxEntry(
            seq=serial,
            key=command.idempotency_key,
            command_type="PlaceOrder",
            payload_json="{}",
            actor_id=ma.id,
            happened_at=clock.now() + OFFLINE,
            schema_version=command_codec.FORMAT,
            state=OutboxState.PENDING,
            pins=((counter, serial),),
        )
        server.apply(command, entry, "DRAW-2")

    apply(first.first)
    other = ServerSync(uow_factory, clock).reserve_block("DRAW-9", clock.now().year, 5)
    with pytest.raises(CommandRefused, match="not in a block reserved for station DRAW-2"):
        apply(other.first)  # another station's block
    later = ServerSync(uow_factory, clock).reserve_block("DRAW-2", clock.now().year, 5)
    apply(later.last)  # reserved after this run read the blocks
    with pytest.raises(CommandRefused, match="not in a block reserved"):
        apply(later.last + 1)
