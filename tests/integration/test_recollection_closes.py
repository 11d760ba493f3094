"""Issue 13 item 2, "recollections that close", point by point (SQLite and PostgreSQL).

1. a rejection needs a coded reason, a loss a coded :class:`LossReason` (a note for
OTHER), on the task and the custody event; 2. the task links the
original and the new specimen; 3. collecting closes it; 4. the original is marked
"recollected by ACCESSION" on its own timeline and 5. the new one's first event names the
original; 6. the board's "rejected, not recollected" flag clears; 7. the lab's message for
the new tube references the original; 8. only a clinician cancels a recollection, with a
reason.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from custody_world import World
from recollection_world import build_world, lab_message, redraw, rejected, ship

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.events import report_lost
from labdesk.custody.receipt import close_receipt, receive_scan
from labdesk.custody.timeline import specimen_timeline
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import PermissionDenied, ValidationError
from labdesk.domain.loss import LossReason
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.recollection import (
    LOST_REASON_CODE,
    RecollectionStatus,
    RejectionReason,
    reason_label,
)
from labdesk.domain.specimen import SpecimenStatus
from labdesk.kernel.messagebus import MessageBus
from labdesk.results.board import load_board
from labdesk.station.commands import CancelRecollection
from labdesk.station.recollection import open_recollection_of
from labdesk.station.recollection_tasks import open_recollection_tasks


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    return build_world(uow_factory, clock)


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


def lost_on_the_road(world: World, reason: LossReason, note: str) -> tuple[str, int]:
    """A tube picked up, then reported lost by the courier from the transit flags."""
    accession = world.specimen(tests=("CMP",), container="SST")
    ship(world, accession)
    with world.uow() as uow:
        task_id = report_lost(
            uow,
            world.clock,
            world.users["chris"],
            accession,
            reason,
            note=note,
            location="In transit (route 2)",
        )
    return accession, task_id


def missing_at_receipt(world: World) -> tuple[str, int]:
    """A tube on the manifest that was not in the bag when the lab closed the receipt."""
    came = world.specimen(tests=("CBC",))
    lost = world.specimen(tests=("CMP",), container="SST")
    number = ship(world, came, lost)
    with world.uow() as uow:
        receive_scan(uow, world.clock, world.users["lena"], number, came)
    with world.uow() as uow:
        close_receipt(uow, world.clock, world.users["lena"], number, report_missing_lost=True)
    with world.uow() as uow:
        return lost, open_recollection_of(uow, world.users["sam"], lost).task_id


@pytest.mark.parametrize(
    ("how", "code", "note", "label"),
    [
        pytest.param(
            "receipt", LossReason.NOT_IN_BAG, "", "lost: not in the bag at receipt", id="receipt"
        ),
        pytest.param(
            "courier",
            LossReason.DAMAGED_IN_TRANSIT,
            "cooler box cracked",
            "lost: broken or leaking in transit",
            id="courier-coded",
        ),
        pytest.param(
            "courier",
            LossReason.OTHER,
            "bag left at the pharmacy",
            "lost (other): bag left at the pharmacy",
            id="courier-other",
        ),
    ],
)
def test_a_lost_tube_is_coded_and_its_recollection_closes_and_links_both(
    world: World, how: str, code: LossReason, note: str, label: str
) -> None:
    lost, task_id = (
        missing_at_receipt(world) if how == "receipt" else (lost_on_the_road(world, code, note))
    )
    with world.uow() as uow:
        task = uow.recollections.get(task_id)
        assert task is not None
        assert (task.reason, task.loss_reason) == (LOST_REASON_CODE, code)  # 1. coded
        info = open_recollection_of(uow, world.users["sam"], lost)
        (row,) = open_recollection_tasks(uow, site_code="CLINIC")
        old_line = specimen_timeline(uow, world.users["maria"], accession=lost)
    assert info.reason_label.lower() == row.reason_label.lower() == label  # worklist
    (loss,) = [e for e in old_line.entries if e.kind is K.LOST]
    assert loss.reason == code.value  # the custody event carries the code
    assert reason_label(loss.reason) == code.label  # ... and the timeline shows its label
    world.clock.advance(timedelta(minutes=5))
    assert FlagReason.LOST in cmp_flags(world)  # 6. raised while lost

    (new,) = [s.accession for s in redraw(world, task_id).specimens]
    with world.uow() as uow:
        task = uow.recollections.get(task_id)
        assert task is not None
        old_spec = uow.specimens.by_accession(lost)
        new_spec = uow.specimens.by_accession(new)
        assert old_spec is not None
        assert new_spec is not None
        # 2. and 3.: linked both ways and closed by the collection
        assert (task.status, task.recollected_specimen_id) == (
            RecollectionStatus.DONE,
            new_spec.id,
        )
        assert new_spec.recollection_of_id == old_spec.id
        old_line = specimen_timeline(uow, world.users["maria"], accession=lost)
        new_line = specimen_timeline(uow, world.users["maria"], accession=new)
        assert open_recollection_tasks(uow, site_code="CLINIC") == []
    # 4. and 5.: both timelines show the link; the original keeps its status
    assert (old_line.entries[-1].kind, old_line.entries[-1].note, old_line.status) == (
        K.RECOLLECTED,
        f"recollected by {new}",
        SpecimenStatus.LOST,
    )
    assert old_line.verified
    assert new_line.entries[0].note == f"recollection of {lost} ({label})"
    # 6. the board's flag clears
    assert FlagReason.LOST not in cmp_flags(world)
    # 7. the lab's message for the new tube references the original, with the coded reason
    assert f"NTE|1|L|Recollection of {lost} ({label})" in lab_message(world, new)


def cmp_flags(world: World) -> set[FlagReason]:
    with world.uow() as uow:
        board = load_board(uow, world.clock, world.users["sam"], OverduePolicy(), audit=False)
    return {f.reason for r in board.rows if r.test_code == "CMP" for f in r.flags}


def test_a_loss_needs_a_known_code_and_other_needs_a_note(world: World) -> None:
    accession = world.specimen(tests=("CMP",), container="SST")
    ship(world, accession)
    courier = world.users["chris"]
    with world.uow() as uow, pytest.raises(ValidationError, match="is not a loss reason") as bad:
        report_lost(uow, world.clock, courier, accession, "dropped", location="Route 2")
    assert "not_in_bag" in bad.value.hint
    with world.uow() as uow, pytest.raises(ValidationError, match="'other' needs a note"):
        report_lost(uow, world.clock, courier, accession, LossReason.OTHER, location="Route 2")
    with world.uow() as uow:  # nothing half-done: still on its way, no task
        assert uow.specimens.by_accession(accession).status is SpecimenStatus.IN_TRANSIT  # type: ignore[union-attr]
        assert open_recollection_tasks(uow) == []
    with world.uow() as uow:  # a code as typed on the command line
        task_id = report_lost(
            uow, world.clock, courier, accession, " Courier_Delay ", location="Route 2"
        )
    with world.uow() as uow:
        task = uow.recollections.get(task_id)
        assert task is not None
        assert task.loss_reason is LossReason.COURIER_DELAY


def test_only_a_clinician_cancels_a_recollection_with_a_reason(world: World) -> None:
    old, task_id = rejected(world, RejectionReason.CLOTTED)
    bus = MessageBus(world.uow, world.clock)
    with pytest.raises(PermissionDenied, match="Only a clinician can cancel") as refused:
        bus.handle(CancelRecollection(task_id=task_id, reason="declined"), world.users["maria"])
    assert "signed in as Medical assistant" in refused.value.message
    assert "Ask a clinician" in refused.value.hint
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
