"""Issue 11 item 3, "the recollection loop dead-ends": recollection at the station.

A rejected or lost tube opens a recollection task; the station must plan exactly its
rejected or lost tests, draw them into new specimens linked to the old one, move the tests
through the state model, close the task in the same transaction, and let the board show
the tests collected again. Runs on SQLite and PostgreSQL (``uow_factory``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from custody_world import World
from recollection_world import (
    BORN,
    STATION,
    board,
    build_world,
    carried,
    draw_all,
    label_and_verify,
    pending_order,
    receive,
    reject,
    ship,
    specimen_id,
    view,
    visit,
)

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.receipt import close_receipt
from labdesk.custody.timeline import specimen_timeline
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import PermissionDenied, ValidationError
from labdesk.domain.order import OrderStatus
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason
from labdesk.domain.patient import Patient, Sex
from labdesk.domain.recollection import RecollectionStatus, RejectionReason
from labdesk.domain.specimen import SpecimenStatus
from labdesk.station.collect import CollectionRefused, collect
from labdesk.station.dto import ContainerCollection
from labdesk.station.encounter import open_encounter
from labdesk.station.recollection import cancel_recollection, plan_recollection
from labdesk.station.recollection_tasks import open_recollection_tasks
from labdesk.station.worklist import station_worklist


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    return build_world(uow_factory, clock)


# ---------------------------------------------------------------- tests


def test_rejected_tube_is_recollected_and_its_task_closed(world: World) -> None:
    old = world.specimen(tests=("CBC", "A1C"))  # two 3 mL tests: two 4 mL lavender tubes
    other = pending_order(world, "CMP")  # the patient's next order, not part of the task
    task_id = reject(world, old, RejectionReason.HAEMOLYSED)
    old_id = specimen_id(world, old)
    world.clock.advance(timedelta(hours=2))
    with world.uow() as uow:
        listed = station_worklist(
            uow, world.clock, world.users["maria"], STATION, "America/New_York"
        )
        rejected = {t.id or 0 for t in uow.orders.tests_for_specimen(old_id)}
    assert [(r.task_id, r.accession, r.tests) for r in listed.recollections] == [
        (task_id, old, ("CBC", "A1C"))
    ]
    flagged = board(world)
    assert all(FlagReason.NO_RECOLLECTION in {f.reason for f in flagged[t].flags} for t in rejected)

    with world.uow() as uow:
        plan = plan_recollection(uow, world.users["maria"], task_id)
    assert {i for c in plan.containers for i in c.ordered_test_ids} == rejected
    assert [c.container_code for c in plan.containers] == ["LAV", "LAV"]

    eid = visit(world)
    shown = view(world, eid, task_id)
    assert shown.plan == plan  # the visit's plan is the recollection's, no CMP
    assert shown.recollection is not None
    assert (shown.recollection.accession, shown.recollection.reason_label) == (old, "Haemolysed")
    assert set(shown.recollection.test_codes) == {"CBC", "A1C"}
    result = draw_all(world, eid, shown, task_id)

    new = [s.accession for s in result.specimens]
    assert len(new) == 2
    assert {code for a in new for code in carried(world, a)} == {"CBC", "A1C"}
    assert all(set(carried(world, a).values()) == {Status.COLLECTED} for a in new)
    assert carried(world, old) == {}  # the tests moved to the new tubes
    with world.uow() as uow:
        task = uow.recollections.get(task_id)
        assert task is not None
        assert task.status is RecollectionStatus.DONE
        assert task.recollected_specimen_id == result.specimens[0].id
        assert task.closed_by_id == world.users["maria"].id
        assert task.closed_at == world.clock.now()
        assert task.close_note == f"recollected as {new[0]}, {new[1]}"
        for accession in new:
            specimen = uow.specimens.by_accession(accession)
            assert specimen is not None
            assert specimen.recollection_of_id == old_id
        audited = [e.detail for e in uow.audit.all_in_order() if e.entity == "recollection_task"]
        assert audited == [f"done: specimen {old_id} recollected as {', '.join(new)}"]
        timeline = specimen_timeline(uow, world.users["maria"], accession=new[0])
        old_timeline = specimen_timeline(uow, world.users["maria"], accession=old)
        listed = station_worklist(
            uow, world.clock, world.users["maria"], STATION, "America/New_York"
        )
        other_test = uow.station.ordered_test(other[0])
        other_status = other_test.status if other_test else None
    assert timeline.entries[0].kind is K.COLLECTED
    assert timeline.entries[0].note == f"recollection of {old} (haemolysed)"
    assert all(e.verified for e in timeline.entries)
    assert [e.kind for e in old_timeline.entries][-3:] == [
        K.REJECTED,
        K.RECOLLECTION_REQUESTED,
        K.RECOLLECTED,  # issue 13: the original is marked 'recollected by ACCESSION'
    ]
    assert old_timeline.entries[-1].note == f"recollected by {new[0]}, {new[1]}"
    assert old_timeline.status is SpecimenStatus.REJECTED
    assert listed.recollections == ()
    assert other_status is Status.ORDERED  # the normal visit still has it to draw

    rows = board(world)
    for test_id in rejected:
        assert rows[test_id].status is Status.COLLECTED
        assert rows[test_id].accession in new
        assert FlagReason.NO_RECOLLECTION not in {f.reason for f in rows[test_id].flags}
    assert view(world, eid, task_id).plan.is_empty  # nothing left to redraw


def test_lost_tube_is_recollected(world: World) -> None:
    came = world.specimen(tests=("CBC",))
    lost = world.specimen(tests=("CMP", "TSH"), container="SST")
    number = ship(world, came, lost)
    receive(world, number, came)
    with world.uow() as uow:
        close_receipt(uow, world.clock, world.users["lena"], number, report_missing_lost=True)
    with world.uow() as uow:
        (task,) = open_recollection_tasks(uow)
        plan = plan_recollection(uow, world.users["maria"], task.task_id)
    assert task.accession == lost
    assert carried(world, lost) == {"CMP": Status.LOST, "TSH": Status.LOST}
    assert [(c.container_code, set(c.test_codes)) for c in plan.containers] == [
        ("SST", {"CMP", "TSH"})
    ]
    before = board(world)
    lost_flags = {f.reason for r in before.values() if r.status is Status.LOST for f in r.flags}
    assert lost_flags == {FlagReason.LOST}

    eid = visit(world)
    result = draw_all(world, eid, view(world, eid, task.task_id), task.task_id)

    (new,) = [s.accession for s in result.specimens]
    new_id = specimen_id(world, new)
    assert carried(world, new) == {"CMP": Status.COLLECTED, "TSH": Status.COLLECTED}
    with world.uow() as uow:
        closed = uow.recollections.get(task.task_id)
        assert closed is not None
        assert closed.status is RecollectionStatus.DONE
        assert closed.recollected_specimen_id == new_id
        first = specimen_timeline(uow, world.users["maria"], accession=new).entries[0]
    assert first.note == f"recollection of {lost} (lost: not in the bag at receipt)"
    rows = [r for r in board(world).values() if r.test_code in ("CMP", "TSH")]
    assert {r.status for r in rows} == {Status.COLLECTED}
    assert not any(f.reason is FlagReason.LOST for r in rows for f in r.flags)


def test_recollected_tube_rejected_again_is_recollected_again(world: World) -> None:
    first = world.specimen(tests=("CBC",))
    task_one = reject(world, first, RejectionReason.CLOTTED)
    eid = visit(world)
    (second,) = [
        s.accession for s in draw_all(world, eid, view(world, eid, task_one), task_one).specimens
    ]
    label_and_verify(world, second)

    task_two = reject(world, second, RejectionReason.QNS)
    second_id = specimen_id(world, second)
    assert task_two != task_one
    with world.uow() as uow:
        plan = plan_recollection(uow, world.users["maria"], task_two)
        assert [t.task_id for t in open_recollection_tasks(uow)] == [task_two]
    assert [c.test_codes for c in plan.containers] == [("CBC",)]
    world.clock.advance(timedelta(minutes=5))
    eid = visit(world)
    (third,) = [
        s.accession for s in draw_all(world, eid, view(world, eid, task_two), task_two).specimens
    ]

    assert carried(world, third) == {"CBC": Status.COLLECTED}
    with world.uow() as uow:
        tasks = [uow.recollections.get(task_one), uow.recollections.get(task_two)]
        states = [(t.status, t.recollected_specimen_id) for t in tasks if t]
        specimen = uow.specimens.by_accession(third)
        assert specimen is not None
        assert specimen.recollection_of_id == second_id
        assert open_recollection_tasks(uow) == []
    assert states == [
        (RecollectionStatus.DONE, second_id),
        (RecollectionStatus.DONE, specimen_id(world, third)),
    ]


def test_recollection_needs_two_identifiers_and_the_same_patient(world: World) -> None:
    old = world.specimen(tests=("CBC",))
    task_id = reject(world, old, RejectionReason.CLOTTED)
    eid = visit(world, identified=False)
    shown = view(world, eid, task_id)
    with pytest.raises(ValidationError, match="two identifiers"):
        draw_all(world, eid, shown, task_id)
    assert carried(world, old) == {"CBC": Status.REJECTED}

    with world.uow() as uow:
        someone = Patient(
            mrn="M0000002",
            family_name="Else",
            given_name="Some",
            birth_date=BORN,
            sex=Sex.MALE,
            created_at=world.clock.now(),
        )
        uow.patients.add(someone)
        uow.commit()
        assert someone.id is not None
        other = open_encounter(uow, world.clock, world.users["maria"], someone.id, STATION)
    with pytest.raises(ValidationError, match="another patient"):
        view(world, other, task_id)


def test_normal_visit_is_unchanged_and_pending_orders_join_on_request(world: World) -> None:
    old = world.specimen(tests=("CBC",))
    (cmp_id,) = pending_order(world, "CMP")
    task_id = reject(world, old, RejectionReason.HAEMOLYSED)
    old_id = specimen_id(world, old)
    with world.uow() as uow:
        (cbc,) = uow.orders.tests_for_specimen(old_id)
        cbc_id = cbc.id or 0
    eid = visit(world)

    normal = view(world, eid, None)
    assert normal.recollection is None
    assert [c.ordered_test_ids for c in normal.plan.containers] == [(cmp_id,)]
    refused = [ContainerCollection("LAV", (cbc_id,), volume_ml=4)]
    with world.uow() as uow, pytest.raises(CollectionRefused, match="rejected by the lab"):
        collect(uow, world.clock, world.users["maria"], eid, refused)

    both = view(world, eid, task_id, pending=True)
    assert sorted(i for c in both.plan.containers for i in c.ordered_test_ids) == sorted(
        [cbc_id, cmp_id]
    )
    result = draw_all(world, eid, both, task_id)
    with world.uow() as uow:
        drawn = [uow.specimens.get(r.id) for r in result.specimens]
        links = {s.container_code: (s.id, s.recollection_of_id) for s in drawn if s}
        task = uow.recollections.get(task_id)
        closed = (task.status, task.recollected_specimen_id) if task else None
    assert links["LAV"][1] == old_id
    assert links["SST"][1] is None  # a first draw replaces nothing
    assert closed == (RecollectionStatus.DONE, links["LAV"][0])


def test_cancelled_recollection_is_audited_and_leaves_nothing_to_draw(world: World) -> None:
    kept = world.specimen(tests=("CBC",))
    dropped = world.specimen(tests=("A1C",))
    keep_task = reject(world, kept, RejectionReason.CLOTTED)
    drop_task = reject(world, dropped, RejectionReason.LEAKING)
    ma, dr = world.users["maria"], world.users["sam"]
    dropped_id = specimen_id(world, dropped)
    # Only a clinician decides a rejected or lost test is not drawn again (issue 13).
    with world.uow() as uow, pytest.raises(PermissionDenied, match="Medical assistant"):
        cancel_recollection(uow, world.clock, ma, keep_task, "patient declined")
    with world.uow() as uow, pytest.raises(ValidationError, match="needs a reason"):
        cancel_recollection(uow, world.clock, dr, keep_task, " ")

    with world.uow() as uow:
        cancel_recollection(
            uow, world.clock, dr, keep_task, "patient declined", station_code=STATION
        )
    with world.uow() as uow:
        cancel_recollection(
            uow, world.clock, dr, drop_task, "clinician cancelled the test", cancel_tests=True
        )
    with world.uow() as uow, pytest.raises(ValidationError, match="already cancelled"):
        cancel_recollection(uow, world.clock, dr, drop_task, "again")

    assert carried(world, kept) == {"CBC": Status.REJECTED}  # left for the clinician
    assert carried(world, dropped) == {"A1C": Status.CANCELLED}
    with world.uow() as uow:
        tasks = [uow.recollections.get(keep_task), uow.recollections.get(drop_task)]
        closes = [(t.status, t.close_note) for t in tasks if t]
        audited = [e.detail for e in uow.audit.all_in_order() if e.entity == "recollection_task"]
        plan = plan_recollection(uow, ma, keep_task)
        assert open_recollection_tasks(uow) == []
        (test,) = uow.orders.tests_for_specimen(dropped_id)
        order = uow.orders.get(test.order_id)
        order_status = order.status if order else None
    assert closes == [
        (RecollectionStatus.CANCELLED, "patient declined"),
        (RecollectionStatus.CANCELLED, "clinician cancelled the test"),
    ]
    assert audited[0] == "cancelled: patient declined; tests left for the clinician"
    assert audited[1].startswith("cancelled: clinician cancelled the test; tests cancelled")
    assert order_status is OrderStatus.CANCELLED
    assert plan.is_empty
    eid = visit(world)
    with pytest.raises(ValidationError, match="already cancelled"):
        draw_all(world, eid, view(world, eid, keep_task), keep_task)
