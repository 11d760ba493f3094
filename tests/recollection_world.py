"""Shared set-up of the recollection service tests: ship, receive, reject, draw again.

``tests/integration/test_station_recollection.py`` (issue 11 item 3) and
``tests/integration/test_recollection_closes.py`` (issue 13 item 2) both build on
``custody_world`` with a station at CLINIC and use these steps.
"""

from __future__ import annotations

from datetime import date, timedelta

from custody_world import PASSWORD, World

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.events import Handoff, record_event
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import open_receipt, receive_scan, reject_specimen
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import OverduePolicy
from labdesk.domain.people import Station
from labdesk.domain.recollection import RejectionReason
from labdesk.results.board import load_board
from labdesk.results.board_dto import BoardRow
from labdesk.station.collect import collect
from labdesk.station.dto import CollectResult, ContainerCollection, EncounterView
from labdesk.station.encounter import confirm_identity, load_encounter, open_encounter

STATION = "STATION-1"
BORN = date(1970, 1, 1)  # custody_world's patient


def build_world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    """``custody_world`` with station ``STATION-1`` at CLINIC."""
    world = World.build(uow_factory, clock)
    with uow_factory() as uow:
        uow.people.add(Station(code=STATION, name="Chair 1", site_id=world.sites["CLINIC"]))
        uow.commit()
    return world


def ship(world: World, *accessions: str) -> str:
    """A courier picks ``accessions`` up at CLINIC; returns the manifest number."""
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


def receive(world: World, number: str, accession: str) -> None:
    with world.uow() as uow:
        receive_scan(uow, world.clock, world.users["lena"], number, accession)


def reject(world: World, accession: str, reason: RejectionReason) -> int:
    """Ship, receive and reject the tube; returns the recollection task's id."""
    number = ship(world, accession)
    receive(world, number, accession)
    with world.uow() as uow:
        return reject_specimen(uow, world.clock, world.users["lena"], accession, reason).task_id


def label_and_verify(world: World, accession: str) -> None:
    """The MA's label print and scan-back of a freshly drawn tube."""
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        for kind in (K.LABELLED, K.VERIFIED):
            record_event(
                uow,
                world.clock,
                specimen,
                kind,
                Handoff(actor_id=world.users["maria"].id, location="CLINIC / STATION-1"),
            )
        uow.commit()


def pending_order(world: World, *codes: str) -> list[int]:
    """Another order of the patient, not drawn yet; its ordered test ids."""
    now = world.clock.now()
    with world.uow() as uow:
        order = Order(
            placer_order_number=f"EHR{uow.counters.next_value('test-order'):06d}",
            patient_id=world.patient_id,
            ordering_provider="Dr. Sam Patel",
            priority=Priority.ROUTINE,
            source=OrderSource.HL7,
            ordered_at=now,
            created_at=now,
        )
        uow.orders.add(order)
        uow.orders.flush()
        assert order.id is not None
        tests = [OrderedTest(order_id=order.id, test_code=c, status_changed_at=now) for c in codes]
        for ot in tests:
            uow.orders.add_test(ot)
        uow.orders.flush()
        uow.commit()
        return [ot.id for ot in tests if ot.id is not None]


def visit(world: World, *, identified: bool = True) -> int:
    ma = world.users["maria"]
    with world.uow() as uow:
        eid = open_encounter(uow, world.clock, ma, world.patient_id, STATION)
    if identified:
        with world.uow() as uow:
            confirm_identity(uow, world.clock, ma, eid, birth_date=BORN, name_confirmed=True)
    return eid


def view(world: World, eid: int, task_id: int | None, *, pending: bool = False) -> EncounterView:
    with world.uow() as uow:
        return load_encounter(
            uow, world.users["maria"], eid, recollection_task_id=task_id, with_pending=pending
        )


def draw_all(world: World, eid: int, shown: EncounterView, task_id: int | None) -> CollectResult:
    containers = [
        ContainerCollection(c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml)
        for c in shown.plan.containers
    ]
    with world.uow() as uow:
        return collect(
            uow, world.clock, world.users["maria"], eid, containers, recollection_task_id=task_id
        )


def carried(world: World, accession: str) -> dict[str, Status]:
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        return {t.test_code: t.status for t in uow.orders.tests_for_specimen(specimen.id or 0)}


def board(world: World) -> dict[int, BoardRow]:
    with world.uow() as uow:
        rows = load_board(uow, world.clock, world.users["sam"], OverduePolicy(), audit=False)
    return {r.ordered_test_id: r for r in rows.rows}


def specimen_id(world: World, accession: str) -> int:
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        assert specimen.id is not None
        return specimen.id


def rejected(world: World, reason: RejectionReason) -> tuple[str, int]:
    """A new CBC tube shipped, received and rejected; its accession and recollection task."""
    accession = world.specimen(tests=("CBC",))
    return accession, reject(world, accession, reason)


def redraw(world: World, task_id: int) -> CollectResult:
    """The patient identified at a new visit and the task's plan drawn in full."""
    eid = visit(world)
    return draw_all(world, eid, view(world, eid, task_id), task_id)


def lab_message(world: World, accession: str) -> list[str]:
    """The segments of the outbound order message carrying ``accession``."""
    with world.uow() as uow:
        message = uow.hl7.outbound_for_specimens(accession)
        assert message is not None
        return message.payload.strip("\r").split("\r")
