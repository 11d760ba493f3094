"""A small synthetic clinic for phlebotomy station tests: a station, users, patients, orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain.clock import Clock
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.patient import Patient, PatientIdentifier, Sex
from labdesk.domain.people import Role, Site, Station, User
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork, UowFactory

STATION = "DRAW-2"
SITE = "CLINIC-S"
SITE_TZ = "America/New_York"

PATIENTS = {
    "ana": ("M200001", "Okafor", "Ana", date(1984, 3, 5), "WB-M200001"),
    "ben": ("M200002", "Novak", "Ben", date(1972, 11, 20), "WB-M200002"),
    "cai": ("M200003", "Lee", "Cai", date(1990, 1, 2), "WB-M200003"),
}


@dataclass
class StationWorld:
    """What :func:`build_station_world` created."""

    station_code: str
    site_id: int
    users: dict[Role, SignedInUser] = field(default_factory=dict)
    patients: dict[str, int] = field(default_factory=dict)

    @property
    def ma(self) -> SignedInUser:
        """The medical assistant at the chair."""
        return self.users[Role.MEDICAL_ASSISTANT]

    @property
    def courier(self) -> SignedInUser:
        """A courier (may not collect)."""
        return self.users[Role.COURIER]


def _user(uow: UnitOfWork, clock: Clock, role: Role) -> SignedInUser:
    name = f"st-{role.value}"
    existing = uow.people.user_by_username(name)
    if existing is None:
        existing = User(
            username=name,
            display_name=f"Station {role.label}",
            role=role,
            password_hash="!",  # nobody signs in as this user
            created_at=clock.now(),
            initials=role.value[:2].upper(),
        )
        uow.people.add(existing)
        uow.people.flush()
    assert existing.id is not None
    return SignedInUser(existing.id, name, existing.display_name, role, existing.initials)


def build_station_world(
    uows: UowFactory, clock: Clock, *, label_printer_uri: str = ""
) -> StationWorld:
    """Catalog, a clinic site with station ``DRAW-2``, one user per role and three patients."""
    with uows() as uow:
        ensure_shipped_catalog(uow)
        site = Site(code=SITE, name="Station test clinic", timezone=SITE_TZ)
        uow.people.add(site)
        uow.people.flush()
        assert site.id is not None
        uow.people.add(
            Station(
                code=STATION,
                name="Chair 2",
                site_id=site.id,
                label_printer_uri=label_printer_uri,
            )
        )
        world = StationWorld(station_code=STATION, site_id=site.id)
        world.users = {role: _user(uow, clock, role) for role in Role}
        for key, (mrn, family, given, born, band) in PATIENTS.items():
            patient = Patient(
                mrn=mrn,
                family_name=family,
                given_name=given,
                birth_date=born,
                sex=Sex.UNKNOWN,
                created_at=clock.now(),
            )
            uow.patients.add(patient)
            uow.patients.flush()
            assert patient.id is not None
            uow.patients.add_identifier(
                PatientIdentifier(patient_id=patient.id, system="wristband", value=band)
            )
            world.patients[key] = patient.id
        uow.commit()
    return world


def add_order(
    uows: UowFactory,
    clock: Clock,
    patient_id: int,
    codes: tuple[str, ...],
    *,
    priority: Priority = Priority.ROUTINE,
    minutes_ago: int = 30,
    number: str | None = None,
) -> list[int]:
    """An EHR-style order for ``codes``; returns the ordered test ids."""
    at = clock.now() - timedelta(minutes=minutes_ago)
    with uows() as uow:
        serial = uow.counters.next_value("test-order")
        order = Order(
            placer_order_number=number or f"EHR{serial:05d}",
            patient_id=patient_id,
            ordering_provider="Dr. Sam Patel",
            priority=priority,
            source=OrderSource.HL7,
            ordered_at=at,
            created_at=at,
        )
        uow.orders.add(order)
        uow.orders.flush()
        assert order.id is not None
        tests = [OrderedTest(order_id=order.id, test_code=c, status_changed_at=at) for c in codes]
        for ot in tests:
            uow.orders.add_test(ot)
        uow.orders.flush()
        ids = [ot.id for ot in tests if ot.id is not None]
        uow.commit()
    return ids
