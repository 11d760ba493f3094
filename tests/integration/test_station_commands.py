"""Station commands through the bus: each step of a visit is done once per idempotency key."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from station_world import StationWorld, add_order, build_station_world

from labdesk.adapters.orm import specimens
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.encounter import EncounterStatus
from labdesk.domain.errors import PermissionDenied
from labdesk.kernel.messagebus import AlreadyHandled, MessageBus
from labdesk.station.commands import (
    AbandonEncounter,
    CollectSpecimens,
    ConfirmIdentity,
    OpenEncounter,
    OpenEncounterByWristband,
    SearchPatients,
)
from labdesk.station.dto import ContainerCollection
from labdesk.station.encounter import load_encounter

pytestmark = pytest.mark.integration


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> StationWorld:
    return build_station_world(uow_factory, clock)


@pytest.fixture
def bus(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> MessageBus:
    return MessageBus(uow_factory, clock)


def _specimens(uows: UnitOfWorkFactory) -> int:
    with uows() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(specimens)) or 0)


def test_a_visit_collected_once_even_when_the_command_is_sent_twice(
    bus: MessageBus, uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("CBC", "CMP"))
    eid = bus.handle(
        OpenEncounterByWristband(scanned="WB-M200001", station_code=world.station_code), world.ma
    )
    again = bus.handle(
        OpenEncounter(patient_id=world.patients["ana"], station_code=world.station_code), world.ma
    )
    assert again == eid  # the open visit is resumed
    view = bus.query(load_encounter, world.ma, eid)
    assert view.identified  # the wristband scan confirmed the identifiers
    command = CollectSpecimens(
        encounter_id=eid,
        containers=tuple(
            ContainerCollection(c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml)
            for c in view.plan.containers
        ),
    )
    result = bus.handle(command, world.ma)
    assert len(result.specimens) == 2
    with pytest.raises(AlreadyHandled, match="Collect specimens was already recorded"):
        bus.handle(command, world.ma)  # a retry after a lost answer
    assert _specimens(uow_factory) == 2
    closed = bus.handle(AbandonEncounter(encounter_id=eid, reason="patient had to leave"), world.ma)
    assert closed.status is EncounterStatus.ABANDONED


def test_a_refused_command_changes_nothing(
    bus: MessageBus, uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ben"], ("CBC",))
    eid = bus.handle(
        OpenEncounter(patient_id=world.patients["ben"], station_code=world.station_code), world.ma
    )
    bus.handle(
        ConfirmIdentity(encounter_id=eid, birth_date=date(1972, 11, 20), name_confirmed=True),
        world.ma,
    )
    view = bus.query(load_encounter, world.ma, eid)
    containers = tuple(
        ContainerCollection(c.container_code, c.ordered_test_ids) for c in view.plan.containers
    )
    with pytest.raises(PermissionDenied):
        bus.handle(CollectSpecimens(encounter_id=eid, containers=containers), world.courier)
    assert _specimens(uow_factory) == 0


def test_a_search_audits_who_saw_which_patients_and_hides_the_typed_text(
    bus: MessageBus, uow_factory: UnitOfWorkFactory, world: StationWorld
) -> None:
    command = SearchPatients(query="M200002")
    found = bus.handle(command, world.ma)
    assert [p.id for p in found] == [world.patients["ben"]]
    with uow_factory() as uow:
        last = uow.audit.all_in_order()[-1]
        assert (last.action, last.entity_id, last.detail) == (
            AuditAction.VIEW,
            str(world.patients["ben"]),
            "search",
        )
    assert "M200002" not in repr(command)
