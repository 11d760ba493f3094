"""Issue 13 item 2, "recollections that close", point by point (SQLite and PostgreSQL).

1. a rejection needs a coded reason, a loss is coded ``lost``; 2. the task links the
original and the new specimen; 3. collecting closes it; 4. the original is marked
"recollected by ACCESSION" on its own timeline and 5. the new one's first event names the
original; 6. the board's "rejected, not recollected" flag clears; 7. the lab's message for
the new tube references the original; 8. only a clinician cancels a recollection, with a
reason.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from custody_world import PASSWORD, World

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import close_receipt, open_receipt, receive_scan, reject_specimen
from labdesk.custody.timeline import specimen_timeline
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import PermissionDenied, ValidationError
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.people import Station
from labdesk.domain.recollection import (
    LOST_REASON_CODE,
    RecollectionStatus,
    RejectionReason,
    reason_label,
)
from labdesk.domain.specimen import SpecimenStatus
from labdesk.kernel.messagebus import MessageBus
from labdesk.results.board import load_board
from labdesk.station.collect import collect
from labdesk.station.commands import CancelRecollection
from labdesk.station.dto import CollectResult, ContainerCollection
from labdesk.station.encounter import confirm_identity, load_encounter, open_encounter
from labdesk.station.recollection import open_recollection_of

STATION = "STATION-1"
BORN = date(1970, 1, 1)  # custody_world's patient


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    world = World.build(uow_factory, clock)
    with uow_factory() as uow:
        uow.people.add(Station(code=STATION, name="Chair 1", site_id=world.sites["CLINIC"]))
        uow.commit()
    return world


def ship(world: World, *accessions: str) -> str:
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, world.clock, courier, "CLINIC").number
    for accession in accessions:
        with world.uow() as uow:
            scan_for_pickup(uow, world.clock, courier, number, accession)
    with world.uow() as uow:
        finish_pickup(uow, world.clock, courier, number, PASSWORD, leave_behind=True)
    world.clock.advance(timedelta(minutes=40))
    with world.uow() as uow:
        open_receipt(uow, world.clock, world.users["lena"], number)
    return number


def rejected(world: World, reason: RejectionReason) -> tuple[str, int]:
    accession = world.specimen(tests=("CBC",))
    number = ship(world, accession)
    with world.uow() as uow:
        receive_scan(uow, world.clock, world.users["lena"], number, accession)
    with world.uow() as uow:
        task = reject_specimen(uow, world.clock, world.users["lena"], accession, reason).task_id
    return accession, task


def redraw(world: World, task_id: int) -> CollectResult:
    ma = world.users["maria"]
    with world.uow() as uow:
        eid = open_encounter(uow, world.clock, ma, world.patient_id, STATION)
    with world.uow() as uow:
        confirm_identity(uow, world.clock, ma, eid, birth_date=BORN, name_confirmed=True)
    with world.uow() as uow:
        shown = load_encounter(uow, ma, eid, recollection_task_id=task_id)
    containers = [
        ContainerCollection(c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml)
        for c in shown.plan.containers
    ]
    with world.uow() as uow:
        return collect(uow, world.clock, ma, eid, containers, recollection_task_id=task_id)


def lab_message(world: World, accession: str) -> list[str]:
    with world.uow() as uow:
        message = uow.hl7.outbound_for_specimens(accession)
        assert message is not None
        return message.payload.strip("\r").split("\r")


def test_collecting_a_rejected_tube_closes_its_task_and_links_both(world: World) -> None:
    old, task_id = rejected(world, RejectionReason.HAEMOLYSED)
    with world.uow() as uow:
        task = uow.recollections.get(task_id)
        assert task is not None
        coded = task.reason
    assert coded == RejectionReason.HAEMOLYSED.value  # 1. coded
    world.clock.advance(timedelta(hours=2))
    with world.uow() as uow:
        flagged = load_board(uow, world.clock, world.users["sam"], OverduePolicy(), audit=False)
    (cbc,) = [r for r in flagged.rows if r.test_code == "CBC"]
    assert FlagReason.NO_RECOLLECTION in {f.reason for f in cbc.flags}

    result = redraw(world, task_id)
    (new,) = [s.accession for s in result.specimens]
    with world.uow() as uow:
        task = uow.recollections.get(task_id)
        assert task is not None
        old_spec = uow.specimens.by_accession(old)
        new_spec = uow.specimens.by_accession(new)
        assert old_spec is not None
        assert new_spec is not None
        # 2. and 3.: the task links both and is closed by the collection
        assert (task.status, task.specimen_id, task.recollected_specimen_id) == (
            RecollectionStatus.DONE,
            old_spec.id,
            new_spec.id,
        )
        assert new_spec.recollection_of_id == old_spec.id
        # the collection recorded what the redrawn CBC reserves (catalog minimum 1.5 mL)
        reserved = uow.add_ons.for_specimen(new_spec.id or 0)
        assert [(r.test_code, r.volume_ml, r.added_on) for r in reserved.values()] == [
            ("CBC", 1.5, False)
        ]
        old_line = specimen_timeline(uow, world.users["maria"], accession=old)
        new_line = specimen_timeline(uow, world.users["maria"], accession=new)
        rows = load_board(uow, world.clock, world.users["sam"], OverduePolicy(), audit=False)
    # 4. the original: "recollected by NEW", its status kept, its chain intact
    assert (old_line.entries[-1].kind, old_line.entries[-1].note) == (
        K.RECOLLECTED,
        f"recollected by {new}",
    )
    assert old_line.status is SpecimenStatus.REJECTED
    assert old_line.verified
    # 5. the new one names the original
    assert new_line.entries[0].note == f"recollection of {old} (haemolysed)"
    # 6. the board's flag clears
    (cbc,) = [r for r in rows.rows if r.test_code == "CBC"]
    assert (cbc.status, cbc.accession) == (Status.COLLECTED, new)
    assert FlagReason.NO_RECOLLECTION not in {f.reason for f in cbc.flags}
    # 7. the lab's message for the new tube references the original
    segments = lab_message(world, new)
    obr = next(i for i, s in enumerate(segments) if s.startswith("OBR|"))
    assert segments[obr + 1] == f"NTE|1|L|Recollection of {old} (haemolysed)"
    spm = next(s for s in segments if s.startswith("SPM|"))
    assert spm.split("|")[2].startswith(new)


def test_a_lost_tube_is_coded_lost_and_its_recollection_says_so(world: World) -> None:
    came = world.specimen(tests=("CBC",))
    lost = world.specimen(tests=("CMP",), container="SST")
    number = ship(world, came, lost)
    with world.uow() as uow:
        receive_scan(uow, world.clock, world.users["lena"], number, came)
    with world.uow() as uow:
        close_receipt(uow, world.clock, world.users["lena"], number, report_missing_lost=True)
    with world.uow() as uow:
        info = open_recollection_of(uow, world.users["sam"], lost)
    assert info.reason == LOST_REASON_CODE
    assert info.reason_label == reason_label(LOST_REASON_CODE) == "Lost in transit"
    (new,) = [s.accession for s in redraw(world, info.task_id).specimens]
    segments = lab_message(world, new)
    assert f"NTE|1|L|Recollection of {lost} (lost in transit)" in segments
    with world.uow() as uow:
        line = specimen_timeline(uow, world.users["maria"], accession=lost)
    assert (line.entries[-1].kind, line.status) == (K.RECOLLECTED, SpecimenStatus.LOST)


def test_only_a_clinician_cancels_a_recollection_with_a_reason(world: World) -> None:
    old, task_id = rejected(world, RejectionReason.CLOTTED)
    bus = MessageBus(world.uow, world.clock)
    with pytest.raises(PermissionDenied, match="Medical assistant"):
        bus.handle(CancelRecollection(task_id=task_id, reason="declined"), world.users["maria"])
    with pytest.raises(PermissionDenied):
        bus.handle(CancelRecollection(task_id=task_id, reason="declined"), world.users["alex"])
    with pytest.raises(ValidationError, match="needs a reason"):
        bus.handle(CancelRecollection(task_id=task_id, reason="  "), world.users["sam"])
    with world.uow() as uow:
        task = uow.recollections.get(task_id)
        assert task is not None
        assert task.status is RecollectionStatus.OPEN  # nothing half-done
    cancelled = bus.handle(
        CancelRecollection(task_id=task_id, reason="result no longer needed", cancel_tests=True),
        world.users["sam"],
    )
    assert cancelled == 1
    with world.uow() as uow:
        task = uow.recollections.get(task_id)
        assert task is not None
        assert (task.status, task.close_note, task.closed_by_id) == (
            RecollectionStatus.CANCELLED,
            "result no longer needed",
            world.users["sam"].id,
        )
    with world.uow() as uow, pytest.raises(ValidationError, match="no open recollection"):
        open_recollection_of(uow, world.users["sam"], old)
