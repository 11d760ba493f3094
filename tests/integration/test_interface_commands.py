"""The worklist commands through the bus, on SQLite and PostgreSQL: done once per key."""

from __future__ import annotations

import pytest
from hl7_world import ACC_PST, World, build_world, group, obx, oru
from sqlalchemy import Engine

from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import PermissionDenied, ValidationError
from labdesk.domain.hl7 import UnmatchedStatus
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.people import Role
from labdesk.interface.commands import (
    DismissUnmatched,
    ExportSpecimenFhir,
    MatchUnmatched,
    MatchUnmatchedByAccession,
    ResolveDeadLetter,
)
from labdesk.interface.worklist import list_dead_letters, list_unmatched
from labdesk.kernel.messagebus import AlreadyHandled, MessageBus


@pytest.fixture
def world(engine: Engine, clock: FixedClock) -> World:
    return build_world(engine, clock)


@pytest.fixture
def bus(world: World) -> MessageBus:
    return MessageBus(world.uow, world.clock)


def _nothing_matches(world: World, bus: MessageBus) -> int:
    """A result naming no specimen or order of ours: its worklist row's id."""
    k = group("K", "F", obx("2823-3", "4"), placer="NOPE", filler="2699999999")
    assert world.ingest(oru("U1", k))[0] == "AA"
    [row] = bus.query(list_unmatched, world.clock, world.users[Role.CLINICIAN])
    return row.id


def _another_patient(world: World, bus: MessageBus) -> int:
    """A result on our specimen naming another patient: its worklist row's id."""
    k = group("K", "F", obx("2823-3", "4"), filler=ACC_PST)
    assert world.ingest(oru("U2", k, mrn="M0000777"))[0] == "AA"
    [row] = bus.query(list_unmatched, world.clock, world.users[Role.CLINICIAN])
    return row.id


def _status(world: World, test_id: int) -> Status:
    with world.uow() as uow:
        ot = uow.hl7.ordered_test(test_id)
        assert ot is not None
        return ot.status


def test_matching_by_hand_is_done_once_per_key(world: World, bus: MessageBus) -> None:
    doctor = world.users[Role.CLINICIAN]
    row_id = _nothing_matches(world, bus)
    command = MatchUnmatched(unmatched_id=row_id, ordered_test_id=world.tests["K"], timezone="UTC")
    with pytest.raises(PermissionDenied):
        bus.handle(command, world.users[Role.MEDICAL_ASSISTANT])
    assert bus.handle(command, doctor) == 1, "the refused attempt used up the key"
    with pytest.raises(AlreadyHandled):
        bus.handle(command, doctor)
    assert _status(world, world.tests["K"]) is Status.FINAL
    with world.uow() as uow:
        assert len(list(uow.results.for_ordered_test(world.tests["K"]))) == 1
        item = uow.hl7.unmatched(row_id)
        assert item is not None
        assert item.status is UnmatchedStatus.MATCHED


def test_matching_by_accession_and_dismissing(world: World, bus: MessageBus) -> None:
    doctor = world.users[Role.CLINICIAN]
    row_id = _nothing_matches(world, bus)
    added = bus.handle(
        MatchUnmatchedByAccession(
            unmatched_id=row_id, accession=ACC_PST, test_code="K", timezone="UTC"
        ),
        doctor,
    )
    assert added == 1
    assert _status(world, world.tests["K"]) is Status.FINAL

    other = _another_patient(world, bus)
    with pytest.raises(ValidationError):
        bus.handle(DismissUnmatched(unmatched_id=other, reason="  "), doctor)
    bus.handle(DismissUnmatched(unmatched_id=other, reason="not our patient"), doctor)
    assert bus.query(list_unmatched, world.clock, doctor) == []


def test_a_dead_letter_is_resolved_through_the_bus(world: World, bus: MessageBus) -> None:
    admin = world.users[Role.ADMIN]
    world.ingest("garbage")
    [dead] = bus.query(list_dead_letters, admin)
    bus.handle(ResolveDeadLetter(message_id=dead.id, note="sender told"), admin)
    assert bus.query(list_dead_letters, admin) == []


def test_the_fhir_export_is_a_recorded_command(world: World, bus: MessageBus) -> None:
    with pytest.raises(PermissionDenied):
        bus.handle(ExportSpecimenFhir(accession=ACC_PST), world.users[Role.MEDICAL_ASSISTANT])
    bundle = bus.handle(ExportSpecimenFhir(accession=ACC_PST), world.users[Role.CLINICIAN])
    assert bundle["resourceType"] == "Bundle"
    with world.uow() as uow:
        exports = [e for e in uow.audit.all_in_order() if e.action.value == "export"]
    assert len(exports) == 1
