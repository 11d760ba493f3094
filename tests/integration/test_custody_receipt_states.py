"""Issue 11 at lab receipt, on SQLite and PostgreSQL: states from custody, stability, audit.

The reconciliation reads each line from the specimen's current custody state (lost, received
on another manifest), closing reports exactly the tubes it listed as missing, a tube beyond
stability is flagged when scanned in (and its results carry a caveat), and rejections,
losses and closes leave audit entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from custody_world import PASSWORD, World

from labdesk.access.audit_log import verify_audit_log
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.dto import LabState, Reconciliation, ScanFeedback
from labdesk.custody.events import report_lost
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import (
    close_receipt,
    open_receipt,
    receive_scan,
    reconciliation,
    reject_specimen,
)
from labdesk.custody.stability import stability_caveat
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import CustodyError
from labdesk.domain.loss import LossReason
from labdesk.domain.manifest import ManifestStatus
from labdesk.domain.overdue import OverduePolicy
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.scan_rules import ScanCode, Severity
from labdesk.domain.specimen import SpecimenStatus as S
from labdesk.results.acknowledge import result_detail, signing_preview


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    return World.build(uow_factory, clock)


def ship(world: World, accessions: list[str]) -> str:
    """A finished manifest carrying ``accessions``; its number."""
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, world.clock, courier, "CLINIC").number
    for accession in accessions:
        with world.uow() as uow:
            scan_for_pickup(uow, world.clock, courier, number, accession)
    with world.uow() as uow:
        finish_pickup(uow, world.clock, courier, number, PASSWORD, leave_behind=True)
    return number


def shipped(world: World, count: int) -> tuple[str, list[str]]:
    accessions = [world.specimen() for _ in range(count)]
    return ship(world, accessions), accessions


def open_it(world: World, number: str) -> Reconciliation:
    with world.uow() as uow:
        return open_receipt(uow, world.clock, world.users["lena"], number)


def receive(world: World, number: str, text: str, *, damaged: bool = False) -> ScanFeedback:
    with world.uow() as uow:
        return receive_scan(uow, world.clock, world.users["lena"], number, text, damaged=damaged)


def view_of(world: World, number: str) -> Reconciliation:
    with world.uow() as uow:
        return reconciliation(uow, world.users["lena"], number)


def close(world: World, number: str, **kw: object) -> Reconciliation:
    with world.uow() as uow:
        return close_receipt(uow, world.clock, world.users["lena"], number, **kw)  # type: ignore[arg-type]


def states(view: Reconciliation) -> dict[str, LabState]:
    return {r.accession: r.lab_state for r in view.rows}


def specimen_id(world: World, accession: str) -> int:
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        return specimen.id or 0


@dataclass(frozen=True)
class Entry:
    action: AuditAction
    entity_id: str
    user_id: int | None
    detail: str
    outcome: str


def audit(world: World, entity: str) -> list[Entry]:
    """The log's entries about ``entity`` records, oldest first (read inside the session)."""
    with world.uow() as uow:
        return [
            Entry(e.action, e.entity_id, e.user_id, e.detail, e.outcome)
            for e in uow.audit.all_in_order()
            if e.entity == entity
        ]


def closes(world: World) -> list[Entry]:
    return [e for e in audit(world, "manifest") if e.detail.startswith("receipt closed")]


def test_lost_tubes_read_lost_once_the_close_reports_them(world: World) -> None:
    number, (came, gone, also_gone) = shipped(world, 3)
    open_it(world, number)
    receive(world, number, came)

    closed = close(world, number, report_missing_lost=True)

    assert closed.reported_lost == (gone, also_gone)
    assert states(closed) == {
        came: LabState.RECEIVED,
        gone: LabState.LOST,
        also_gone: LabState.LOST,
    }
    assert closed.missing == ()
    assert [r.accession for r in closed.lost] == [gone, also_gone]
    assert states(view_of(world, number))[gone] is LabState.LOST


def test_a_tube_received_on_another_manifest_is_not_missing_nor_reported_lost(
    world: World,
) -> None:
    number, (strayed, absent, came) = shipped(world, 3)
    other, (other_tube,) = shipped(world, 1)
    open_it(world, number)
    receive(world, number, came)
    asked = view_of(world, number)  # what a screen showed before the stray turned up
    open_it(world, other)
    assert receive(world, other, strayed).code is ScanCode.RECEIVED_UNEXPECTED

    view = view_of(world, number)
    row = next(r for r in view.rows if r.accession == strayed)

    assert [r.accession for r in asked.missing] == [strayed, absent]
    assert row.lab_state is LabState.RECEIVED_ELSEWHERE
    assert row.received_on == other
    assert [r.accession for r in view.missing] == [absent]
    assert [r.accession for r in view.received_elsewhere] == [strayed]
    # Confirming the stale list (2 tubes) must not close with 1 reported lost.
    stale = {r.specimen_id for r in asked.missing}
    with pytest.raises(CustodyError, match="changed since you confirmed: 1 are missing now"):
        close(world, number, report_missing_lost=True, confirmed_missing=stale)
    assert view_of(world, number).status is ManifestStatus.RECEIVING
    assert world.status(absent) is S.IN_TRANSIT
    with world.uow() as uow, pytest.raises(CustodyError, match=f"1 specimen.*{absent}"):
        close_receipt(uow, world.clock, world.users["lena"], number)

    closed = close(
        world,
        number,
        report_missing_lost=True,
        confirmed_missing={r.specimen_id for r in view.missing},
    )

    assert closed.reported_lost == (absent,)
    assert world.status(strayed) is S.RECEIVED
    assert K.LOST not in world.kinds(strayed)
    assert states(closed)[strayed] is LabState.RECEIVED_ELSEWHERE
    assert states(closed)[absent] is LabState.LOST
    assert other_tube in states(view_of(world, other))


def test_a_tube_beyond_stability_is_flagged_at_receipt_and_its_results_carry_a_caveat(
    world: World,
) -> None:
    # CBC keeps 72 h refrigerated: picked up at 71 h (at risk), received at 74 h.
    old = world.specimen(collected_ago=timedelta(hours=71))
    old_damaged = world.specimen(collected_ago=timedelta(hours=71, minutes=30))
    fresh = world.specimen()
    number = ship(world, [old, old_damaged, fresh])
    world.clock.advance(timedelta(hours=3))
    open_it(world, number)
    old_id, fresh_id = specimen_id(world, old), specimen_id(world, fresh)
    with world.uow() as uow:
        assert stability_caveat(uow, old_id) is None  # not received yet

    late = receive(world, number, old)
    late_damaged = receive(world, number, old_damaged, damaged=True)
    in_time = receive(world, number, fresh)

    caveat = (
        "Received beyond stability (collected 74 h before receipt, limit 72 h for CBC refrigerated)"
    )
    assert late.code is ScanCode.BEYOND_STABILITY
    assert late.severity is Severity.WARNING
    assert "beyond stability (collected 74 h before receipt" in late.message
    assert "caveat" in late.hint
    assert late.rows[0].warning == caveat
    assert late_damaged.code is ScanCode.RECEIVED_DAMAGED
    assert "also beyond stability (collected 74 h 30 min before receipt" in late_damaged.message
    assert in_time.code is ScanCode.RECEIVED
    assert in_time.rows[0].warning == ""
    with world.uow() as uow:
        assert stability_caveat(uow, old_id) == caveat
        assert stability_caveat(uow, fresh_id) is None
        found = uow.custody_scan.last_event(old_id, K.RECEIVED)
        assert found is not None
        assert found[0].reason == caveat
        assert "beyond stability" in found[0].note
    rows = {r.accession: r for r in view_of(world, number).rows}
    assert rows[old].warning == caveat
    assert rows[old].lab_state is LabState.RECEIVED  # received, with its caveat
    assert rows[fresh].warning == ""

    # The clinician sees the caveat beside the results and in what they sign.
    with world.uow() as uow:
        test_ids = [t.id or 0 for i in (old_id, fresh_id) for t in uow.orders.tests_for_specimen(i)]
    assert len(test_ids) == 2
    clinician = world.users["sam"]
    with world.uow() as uow:
        detail = result_detail(uow, world.clock, clinician, OverduePolicy(), test_ids[0])
    assert detail.caveat == caveat
    with world.uow() as uow:
        fresh_detail = result_detail(uow, world.clock, clinician, OverduePolicy(), test_ids[1])
    assert fresh_detail.caveat is None
    with world.uow() as uow:
        preview = signing_preview(uow, world.clock, clinician, test_ids)
    lines = {line.ordered_test_id: line for line in [*preview.to_sign, *preview.refused]}
    assert lines[test_ids[0]].caveat == caveat
    assert lines[test_ids[1]].caveat is None


def test_rejections_losses_and_closes_are_audited_with_the_work(world: World) -> None:
    number, (bad, came, gone) = shipped(world, 3)
    dropped = world.specimen()
    lab = world.users["lena"]
    open_it(world, number)
    receive(world, number, bad)
    receive(world, number, came)
    with world.uow() as uow:
        rejected = reject_specimen(uow, world.clock, lab, bad, RejectionReason.HAEMOLYSED)
    with world.uow() as uow:
        report_lost(
            uow,
            world.clock,
            world.users["maria"],
            dropped,
            LossReason.OTHER,
            note="dropped",
            location="CLINIC",
        )
    refused = {specimen_id(world, came)}
    with pytest.raises(CustodyError):
        close(world, number, report_missing_lost=True, confirmed_missing=refused)
    assert closes(world) == []

    close(world, number, report_missing_lost=True)

    specimen_entries = audit(world, "specimen")
    assert [(e.action, e.entity_id, e.user_id) for e in specimen_entries] == [
        (AuditAction.UPDATE, str(specimen_id(world, bad)), lab.id),
        (AuditAction.UPDATE, str(specimen_id(world, dropped)), world.users["maria"].id),
        (AuditAction.UPDATE, str(specimen_id(world, gone)), lab.id),
    ]
    assert specimen_entries[0].detail == (
        f"rejected {bad} at Lab receiving: haemolysed; recollection task {rejected.task_id}"
    )
    assert specimen_entries[1].detail.startswith(f"reported {dropped} lost at CLINIC: other;")
    assert "dropped" not in specimen_entries[1].detail  # typed text stays out of the log
    assert specimen_entries[2].detail.startswith(
        f"reported {gone} lost: missing from manifest {number} at lab receipt;"
    )
    (closed,) = closes(world)
    assert (closed.action, closed.entity_id, closed.user_id) == (AuditAction.UPDATE, number, lab.id)
    assert closed.detail == (
        "receipt closed: 1 received, 0 damaged, 1 rejected, 1 reported lost, "
        "0 received on other manifests, 0 unexpected"
    )
    close(world, number)  # closing again changes and audits nothing
    assert len(closes(world)) == 1
    with world.uow() as uow:
        assert verify_audit_log(uow, world.clock, None, record=False).ok
