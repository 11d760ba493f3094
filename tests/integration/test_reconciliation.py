"""Downtime reconciliation and station contacts on SQLite and PostgreSQL (issue 12 items 5-6).

Refused replays become open items (by the replay's call or the backfill), each kind offers
only its own resolutions, resolving is permission-checked and audited, and the station's
command row is never deleted.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from labdesk.adapters.orm import audit_entries
from labdesk.adapters.orm.downtime import accession_blocks, replayed_commands
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import PermissionDenied
from labdesk.domain.people import Role
from labdesk.downtime.contacts import ContactReport, list_stations, report_contact
from labdesk.downtime.reconcile import (
    ConflictKind,
    ConflictRefs,
    ReconciliationError,
    Resolution,
    ResolveConflict,
    backfill,
    list_items,
    record_conflict,
)
from labdesk.kernel.messagebus import MessageBus

REFUSALS = [
    ("k-double", "CollectSpecimens", "Ordered test 7 was already collected at DRAW-1."),
    ("k-cancel", "CollectSpecimens", "Order 3 was cancelled; nothing to collect."),
    ("k-patient", "PlaceOrder", "Patient 2 changed on the server (merged into 5)."),
    ("k-label", "PrintLabels", "Ordered test 9 is cancelled; no label."),
]


def _replayed(engine: Engine, clock: FixedClock, outcome: str = "refused") -> None:
    at = clock.now() - timedelta(hours=2)
    with engine.begin() as conn:
        for seq, (key, command, reason) in enumerate(REFUSALS, start=1):
            conn.execute(
                insert(replayed_commands).values(
                    idempotency_key=key,
                    station="DRAW-2",
                    seq=seq,
                    command=command,
                    happened_at=at + timedelta(minutes=seq),
                    synced_at=clock.now(),
                    outcome=outcome,
                    reason=reason,
                )
            )
        conn.execute(
            insert(replayed_commands).values(
                idempotency_key="k-ok",
                station="DRAW-2",
                seq=9,
                command="PlaceOrder",
                happened_at=at,
                synced_at=clock.now(),
                outcome="applied",
                reason=None,
            )
        )


def test_backfill_opens_one_item_per_refusal_with_its_kind(
    engine: Engine, uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    _replayed(engine, clock)
    assert backfill(uow_factory, clock) == 4
    assert backfill(uow_factory, clock) == 0  # idempotent
    kinds = {item.idempotency_key: item.kind for item in list_items(uow_factory)}
    assert kinds == {
        "k-double": ConflictKind.DOUBLE_COLLECTION,
        "k-cancel": ConflictKind.ORDER_CANCELLED,
        "k-patient": ConflictKind.PATIENT_CHANGED,
        "k-label": ConflictKind.LABEL_FOR_CANCELLED,
    }
    double = next(i for i in list_items(uow_factory) if i.idempotency_key == "k-double")
    assert Resolution.RECORD_ADDITIONAL_SPECIMEN in double.allowed
    assert Resolution.DISCARD_LABEL not in double.allowed


def test_record_conflict_keeps_refs_and_is_idempotent(
    engine: Engine, uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    _replayed(engine, clock)
    refs = ConflictRefs(specimen_id=None, ordered_test_id=7, patient_id=1, summary="tube A")
    with uow_factory() as uow:
        first = record_conflict(
            uow,
            clock,
            idempotency_key="k-double",
            station="DRAW-2",
            command="CollectSpecimens",
            happened_at=clock.now(),
            reason=REFUSALS[0][2],
            refs=refs,
        )
        again = record_conflict(
            uow,
            clock,
            idempotency_key="k-double",
            station="DRAW-2",
            command="CollectSpecimens",
            happened_at=clock.now(),
            reason=REFUSALS[0][2],
        )
        uow.commit()
    assert first is not None
    assert again is None
    (item,) = list_items(uow_factory)
    assert (item.ordered_test_id, item.patient_id, item.station_summary) == (7, 1, "tube A")


def test_resolving_is_checked_audited_and_keeps_the_command(
    engine: Engine,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    station_world: object,
) -> None:
    users = station_world.users  # type: ignore[attr-defined]
    _replayed(engine, clock)
    backfill(uow_factory, clock)
    item = next(i for i in list_items(uow_factory) if i.kind is ConflictKind.DOUBLE_COLLECTION)
    bus = MessageBus(uow_factory, clock)

    with pytest.raises(PermissionDenied):
        bus.handle(
            ResolveConflict(item_id=item.id, resolution=Resolution.RECORD_ADDITIONAL_SPECIMEN),
            users[Role.COURIER],
        )
    with pytest.raises(ReconciliationError, match="not a resolution"):
        bus.handle(
            ResolveConflict(item_id=item.id, resolution=Resolution.DISCARD_LABEL),
            users[Role.ADMIN],
        )
    done = bus.handle(
        ResolveConflict(
            item_id=item.id, resolution=Resolution.RECORD_ADDITIONAL_SPECIMEN, note="two tubes"
        ),
        users[Role.ADMIN],
    )
    assert done.state == "resolved"
    assert done.resolved_by == users[Role.ADMIN].id
    assert done.note == "two tubes"
    with pytest.raises(ReconciliationError, match="already resolved"):
        bus.handle(
            ResolveConflict(item_id=item.id, resolution=Resolution.KEEP_SERVER_DISCARD_OFFLINE),
            users[Role.ADMIN],
        )
    assert item.id not in {i.id for i in list_items(uow_factory)}
    assert len(list_items(uow_factory, open_only=False)) == 4
    with engine.connect() as conn:
        audited = conn.scalar(
            select(func.count())
            .select_from(audit_entries)
            .where(
                audit_entries.c.entity == "reconciliation_item",
                audit_entries.c.entity_id == str(item.id),
            )
        )
        kept = conn.scalar(
            select(func.count())
            .select_from(replayed_commands)
            .where(replayed_commands.c.idempotency_key == "k-double")
        )
    assert audited == 1
    assert kept == 1


def test_station_contacts_skew_upsert_and_unused_ranges(
    engine: Engine, uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(accession_blocks).values(
                station="DRAW-3",
                year=2026,
                first=501,
                last=600,
                issued_up_to=540,
                reserved_at=clock.now(),
            )
        )
        conn.execute(
            insert(accession_blocks).values(
                station="DRAW-2",
                year=2026,
                first=401,
                last=500,
                issued_up_to=500,
                reserved_at=clock.now(),
            )
        )
    report = ContactReport(
        station="DRAW-2",
        station_clock_at=clock.now() + timedelta(minutes=3),
        outbox_pending=4,
        outbox_conflicts=1,
        block_remaining=0,
        replica_seq=12,
        replica_age_seconds=30.0,
        app_version="1.4.0",
    )
    ack = report_contact(uow_factory, report, clock)
    assert ack.skew_seconds == pytest.approx(180.0)
    clock.advance(timedelta(minutes=1))
    ack = report_contact(
        uow_factory,
        ContactReport(
            station="DRAW-2",
            station_clock_at=clock.now() - timedelta(seconds=5),
            outbox_pending=0,
            outbox_conflicts=1,
            block_remaining=0,
        ),
        clock,
    )
    assert ack.skew_seconds == pytest.approx(-5.0)
    rows = {row.station: row for row in list_stations(uow_factory)}
    assert set(rows) == {"DRAW-2", "DRAW-3"}
    draw2, draw3 = rows["DRAW-2"], rows["DRAW-3"]
    assert draw2.outbox_pending == 0
    assert draw2.last_contact_at == clock.now()
    assert not draw2.skew_warning
    assert draw2.unused == ()
    assert draw3.last_contact_at is None
    assert [(r.first, r.last, r.size) for r in draw3.unused] == [(541, 600, 60)]
