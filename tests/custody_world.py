"""A small clinic for custody tests: two clinics, a lab, a route, staff, specimens on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from labdesk.access.credentials import hash_secret
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.custody.events import Handoff, record_event
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.manifest import Route
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority, TestStatus
from labdesk.domain.patient import Patient, Sex
from labdesk.domain.people import Role, Site, User
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.station.accession import issue_accession

PASSWORD = "courier secret phrase"
ROUTE = "CLINIC-LAB"
TRANSIT_MINUTES = 90

STAFF = {
    "chris": ("Chris Okafor", Role.COURIER),
    "dana": ("Dana Reyes", Role.COURIER),
    "lena": ("Lena Brandt", Role.LAB_RECEIVER),
    "maria": ("Maria Alvarez", Role.MEDICAL_ASSISTANT),
    "alex": ("Alex Admin", Role.ADMIN),
    "sam": ("Dr. Sam Patel", Role.CLINICIAN),
}

_STEPS = {
    SpecimenStatus.COLLECTED: (),
    SpecimenStatus.LABELLED: (CustodyEventKind.LABELLED,),
    SpecimenStatus.VERIFIED: (CustodyEventKind.LABELLED, CustodyEventKind.VERIFIED),
}


@dataclass
class World:
    """Reference data in one database, and helpers that add specimens."""

    uow: UnitOfWorkFactory
    clock: FixedClock
    sites: dict[str, int] = field(default_factory=dict)
    users: dict[str, SignedInUser] = field(default_factory=dict)
    patient_id: int = 0

    @classmethod
    def build(cls, uow: UnitOfWorkFactory, clock: FixedClock) -> World:
        """Sites CLINIC, CLINIC2 (no route) and LAB, route CLINIC-LAB 90 min, ``STAFF``."""
        world = cls(uow, clock)
        world._places()
        password_hash = hash_secret(PASSWORD)
        with uow() as u:
            for username, (name, role) in STAFF.items():
                user = User(
                    username=username,
                    display_name=name,
                    role=role,
                    password_hash=password_hash,
                    created_at=clock.now(),
                )
                u.people.add(user)
                u.people.flush()
                assert user.id is not None
                world.users[username] = SignedInUser(
                    id=user.id, username=username, display_name=name, role=role, initials=""
                )
            patient = Patient(
                mrn="M0000001",
                family_name="Testperson",
                given_name="Pat",
                birth_date=date(1970, 1, 1),
                sex=Sex.FEMALE,
                created_at=clock.now(),
            )
            u.patients.add(patient)
            u.patients.flush()
            assert patient.id is not None
            world.patient_id = patient.id
            u.commit()
        return world

    @classmethod
    def on_existing(
        cls, uow: UnitOfWorkFactory, clock: FixedClock, users: dict[str, SignedInUser]
    ) -> World:
        """Sites and route in a database that already has users and patients (UI tests)."""
        world = cls(uow, clock, users=dict(users))
        world._places()
        with uow() as u:
            patient = u.patients.by_mrn("M100001")
            assert patient is not None
            world.patient_id = patient.id or 0
        return world

    def _places(self) -> None:
        with self.uow() as u:
            ensure_shipped_catalog(u)
            for code, is_lab in (("CLINIC", False), ("CLINIC2", False), ("LAB", True)):
                site = Site(code=code, name=f"{code.title()} site", is_lab=is_lab)
                u.people.add(site)
                u.people.flush()
                assert site.id is not None
                self.sites[code] = site.id
            u.routes.add(
                Route(
                    code=ROUTE,
                    name="Clinic to lab",
                    from_site_id=self.sites["CLINIC"],
                    to_site_id=self.sites["LAB"],
                    transit_minutes=TRANSIT_MINUTES,
                )
            )
            u.commit()

    def specimen(
        self,
        status: SpecimenStatus = SpecimenStatus.VERIFIED,
        *,
        site: str = "CLINIC",
        tests: tuple[str, ...] = ("CBC",),
        container: str = "LAV",
        temperature: TemperatureClass = TemperatureClass.REFRIGERATED,
        collected_ago: timedelta = timedelta(minutes=30),
    ) -> str:
        """A new specimen walked to ``status`` (collected, labelled or verified); its accession."""
        collected = self.clock.now() - collected_ago
        ma = self.users["maria"].id
        with self.uow() as u:
            order = Order(
                placer_order_number=f"PO{u.counters.next_value('test-order'):06d}",
                patient_id=self.patient_id,
                ordering_provider="Dr. Sam Patel",
                priority=Priority.ROUTINE,
                source=OrderSource.MANUAL,
                ordered_at=collected,
                created_at=collected,
            )
            u.orders.add(order)
            u.orders.flush()
            specimen = Specimen(
                accession=issue_accession(u, self.clock),
                patient_id=self.patient_id,
                container_code=container,
                site_id=self.sites[site],
                status=SpecimenStatus.COLLECTED,
                collected_at=collected,
                collected_by_id=ma,
                created_at=collected,
                temperature_class=temperature,
            )
            u.specimens.add(specimen)
            u.specimens.flush()
            assert order.id is not None
            for code in tests:
                u.orders.add_test(
                    OrderedTest(
                        order_id=order.id,
                        test_code=code,
                        specimen_id=specimen.id,
                        status=TestStatus.COLLECTED,
                    )
                )
            for kind in (CustodyEventKind.COLLECTED, *_STEPS[status]):
                record_event(
                    u,
                    self.clock,
                    specimen,
                    kind,
                    Handoff(actor_id=ma, location="CLINIC / STATION-1", occurred_at=collected),
                )
            u.commit()
            return specimen.accession

    def status(self, accession: str) -> SpecimenStatus:
        """The specimen's stored status."""
        with self.uow() as u:
            specimen = u.specimens.by_accession(accession)
            assert specimen is not None
            return specimen.status

    def kinds(self, accession: str) -> list[CustodyEventKind]:
        """The kinds of the specimen's events, in order."""
        with self.uow() as u:
            specimen = u.specimens.by_accession(accession)
            assert specimen is not None
            assert specimen.id is not None
            return [e.kind for e in u.custody.for_specimen(specimen.id)]
