"""A small clinic for custody tests: two clinics, a lab, a route, staff, specimens on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.events import Handoff
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.order import OrderSource, Priority, TestStatus
from labdesk.domain.patient import Sex
from labdesk.domain.people import Role
from labdesk.domain.specimen import SpecimenStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.seed.builder import ClinicBuilder, Passwords
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import DEMO_PROVIDER, RouteSpec, SiteSpec, StaffSpec

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
        staff = [StaffSpec(name, display, role) for name, (display, role) in STAFF.items()]
        with uow() as u:
            build = ClinicBuilder(u, clock)
            users = build.staff(staff, passwords=Passwords.SHARED, password=PASSWORD)
            world.users = {name: build.actor(user) for name, user in users.items()}
            patient = build.patient(
                SyntheticPerson.named("M0000001", "Testperson", "Pat", date(1970, 1, 1), Sex.FEMALE)
            )
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
            build = ClinicBuilder(u, self.clock)
            build.catalog()
            for code, is_lab in (("CLINIC", False), ("CLINIC2", False), ("LAB", True)):
                site = build.site(SiteSpec(code, f"{code.title()} site", is_lab=is_lab))
                assert site.id is not None
                self.sites[code] = site.id
            build.route(RouteSpec(ROUTE, "CLINIC", "LAB", TRANSIT_MINUTES, name="Clinic to lab"))
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
            build = ClinicBuilder(u, self.clock)
            order, _ = build.order(
                self.patient_id,
                placer=build.number("test-order", "PO", 6),
                provider=DEMO_PROVIDER,
                priority=Priority.ROUTINE,
                source=OrderSource.MANUAL,
                ordered_at=collected,
            )
            specimen = build.specimen(
                self.patient_id,
                container,
                site_id=self.sites[site],
                collected_by_id=ma,
                collected_at=collected,
                created_at=collected,
                temperature=temperature,
            )
            build.add_tests(order, tests, status=TestStatus.COLLECTED, specimen=specimen)
            handoff = Handoff(actor_id=ma, location="CLINIC / STATION-1", occurred_at=collected)
            build.walk(specimen, [(CustodyEventKind.COLLECTED, handoff)])
            build.advance(specimen, status, handoff)
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
