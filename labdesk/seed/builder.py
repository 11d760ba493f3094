"""One builder of synthetic clinic data, in small steps over an open unit of work.

The demo (``labdesk seed-demo``), the benchmarks' reference data and order seeding, and the
test worlds all build their clinic with :class:`ClinicBuilder`: reference data (catalog,
sites, stations, routes), users by role, patients, orders with their tests, and
specimens. A specimen is either *drawn* (:meth:`ClinicBuilder.draw`: collected with its
first custody event, its tests moved by the state model) and walked on through
``record_event`` (labelled, verified, picked up, received, lost: the hash chains and the
tests follow, as at the clinic), or *placed* (:meth:`ClinicBuilder.specimen`: a row put in
a state without its history, for tests that only need the row).

Every step adds to the caller's unit of work and flushes what it needs ids for; the caller
commits. Synthetic data only: names and numbers come from :mod:`labdesk.seed.names` and
:mod:`labdesk.seed.reference`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum

from labdesk.access.auth import create_user
from labdesk.access.credentials import hash_secret
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.custody.events import Handoff, record_event
from labdesk.domain import lifecycle
from labdesk.domain.catalog import ContainerType, TemperatureClass
from labdesk.domain.catalog import TestDefinition as CatalogTest
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import NotFound
from labdesk.domain.lifecycle import TestEvent
from labdesk.domain.manifest import Route
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority, TestStatus
from labdesk.domain.patient import Patient, PatientIdentifier
from labdesk.domain.people import Site, Station, User
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import ClinicSpec, RouteSpec, SiteSpec, StaffSpec, StationSpec
from labdesk.station.accession import issue_accession
from labdesk.station.patients import WRISTBAND_SYSTEM

UNUSABLE_HASH = "!"
"""A password hash no password matches: nobody signs in as the user (nothing is hashed)."""

CUSTODY_PATH: dict[SpecimenStatus, tuple[CustodyEventKind, ...]] = {
    SpecimenStatus.COLLECTED: (),
    SpecimenStatus.LABELLED: (CustodyEventKind.LABELLED,),
    SpecimenStatus.VERIFIED: (CustodyEventKind.LABELLED, CustodyEventKind.VERIFIED),
    SpecimenStatus.IN_TRANSIT: (
        CustodyEventKind.LABELLED,
        CustodyEventKind.VERIFIED,
        CustodyEventKind.PICKED_UP,
    ),
    SpecimenStatus.RECEIVED: (
        CustodyEventKind.LABELLED,
        CustodyEventKind.VERIFIED,
        CustodyEventKind.PICKED_UP,
        CustodyEventKind.RECEIVED,
    ),
}
"""The custody events after the collection that bring a tube to each status."""


class Passwords(Enum):
    """How :meth:`ClinicBuilder.staff` gives its users passwords."""

    NONE = "none"
    """Nobody signs in (``UNUSABLE_HASH``); nothing is hashed, the cheapest."""
    SHARED = "shared"
    """One argon2id hash of the password, shared by the call's users: one hash's cost."""
    EACH = "each"
    """Each user through ``access.create_user``: its own salted hash, as in the product."""


class ClinicBuilder:
    """Small composable steps that add a synthetic clinic to ``uow`` (the caller commits)."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    # ---------------------------------------------------------------- reference data

    def catalog(self) -> bool:
        """The shipped test catalog, when the catalog is empty; True when it was loaded."""
        return ensure_shipped_catalog(self.uow)

    def catalog_entries(
        self, containers: Iterable[ContainerType], tests: Iterable[CatalogTest]
    ) -> None:
        """Containers and tests of a catalog of the caller's own (merged by code)."""
        for container in containers:
            self.uow.catalog.merge_container(container)
        self.uow.catalog.flush()
        for test in tests:
            self.uow.catalog.merge_test(test)
        self.uow.catalog.flush()

    def site(self, spec: SiteSpec) -> Site:
        """The site with the spec's code, created when missing."""
        site = self.uow.people.site_by_code(spec.code)
        if site is None:
            site = Site(code=spec.code, name=spec.name, timezone=spec.timezone, is_lab=spec.is_lab)
            self.uow.people.add(site)
            self.uow.people.flush()
        return site

    def station(self, spec: StationSpec) -> Station:
        """The station with the spec's code at its site (created first when missing)."""
        station = self.uow.people.station_by_code(spec.code)
        if station is None:
            site = self._site_id(spec.site)
            station = Station(
                code=spec.code,
                name=spec.name,
                site_id=site,
                label_printer_uri=spec.label_printer_uri,
                document_printer_uri=spec.document_printer_uri,
            )
            self.uow.people.add(station)
            self.uow.people.flush()
        return station

    def route(self, spec: RouteSpec) -> Route:
        """The courier route with the spec's code, created when missing.

        Raises:
            NotFound: when either site does not exist.
        """
        route = self.uow.routes.by_code(spec.code)
        if route is None:
            origin, destination = (
                self._existing_site(spec.from_site),
                self._existing_site(spec.to_site),
            )
            assert origin.id is not None
            assert destination.id is not None
            route = Route(
                code=spec.code,
                name=spec.name or f"{origin.name} to {destination.name}",
                from_site_id=origin.id,
                to_site_id=destination.id,
                transit_minutes=spec.transit_minutes,
            )
            self.uow.routes.add(route)
            self.uow.routes.flush()
        return route

    def reference(self, clinic: ClinicSpec, *, routes: bool = True) -> dict[str, Site]:
        """The clinic's sites, stations and (unless told not to) routes; sites by code."""
        sites = {spec.code: self.site(spec) for spec in clinic.sites}
        for station in clinic.stations:
            self.station(station)
        if routes:
            for route in clinic.routes:
                self.route(route)
        return sites

    def _existing_site(self, code: str) -> Site:
        site = self.uow.people.site_by_code(code)
        if site is None or site.id is None:
            raise NotFound(f"No site {code} to seed.")
        return site

    def _site_id(self, code: str) -> int:
        site_id = self._existing_site(code).id
        assert site_id is not None
        return site_id

    # ---------------------------------------------------------------- users

    def user(
        self,
        spec: StaffSpec,
        *,
        password: str | None = None,
        password_hash: str = UNUSABLE_HASH,
        enforce_policy: bool = True,
        badge_id: str | None = None,
        pin: str | None = None,
    ) -> User:
        """The user named by ``spec``, created when missing (an existing one is kept as is).

        With a ``password`` the user is made by ``access.create_user`` (own salted hash,
        policy checked unless ``enforce_policy=False``, badge and PIN registered); without
        one it is stored with ``password_hash`` as given (default: nobody signs in).
        """
        existing = self.uow.people.user_by_username(spec.username)
        if existing is not None:
            return existing
        if password is not None:
            user_id = create_user(
                self.uow,
                self.clock,
                username=spec.username,
                display_name=spec.display_name,
                role=spec.role,
                password=password,
                initials=spec.initials,
                badge_id=badge_id,
                pin=pin,
                enforce_policy=enforce_policy,
            )
            created = self.uow.people.user(user_id)
            assert created is not None
            return created
        user = User(
            username=spec.username,
            display_name=spec.display_name,
            role=spec.role,
            password_hash=password_hash,
            created_at=self.clock.now(),
            initials=spec.initials,
            badge_id=badge_id,
            pin_hash=hash_secret(pin) if pin is not None else None,
        )
        self.uow.people.add(user)
        self.uow.people.flush()
        return user

    def staff(
        self,
        specs: Iterable[StaffSpec],
        *,
        passwords: Passwords = Passwords.NONE,
        password: str = "",
        enforce_policy: bool = True,
    ) -> dict[str, User]:
        """One user per spec (see :class:`Passwords`), by user name."""
        specs = list(specs)
        if passwords is Passwords.EACH:
            return {
                s.username: self.user(s, password=password, enforce_policy=enforce_policy)
                for s in specs
            }
        shared = hash_secret(password) if passwords is Passwords.SHARED else UNUSABLE_HASH
        return {s.username: self.user(s, password_hash=shared) for s in specs}

    @staticmethod
    def actor(user: User, station: str = "") -> SignedInUser:
        """The session DTO use cases take for ``user`` (no sign-in, no password check)."""
        assert user.id is not None
        return SignedInUser(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            initials=user.initials,
            station=station,
        )

    # ---------------------------------------------------------------- patients

    def patient(
        self,
        person: SyntheticPerson,
        *,
        wristband: str | None = None,
        system: str = WRISTBAND_SYSTEM,
        created_at: datetime | None = None,
    ) -> Patient:
        """Store ``person`` as a patient, with a wristband identifier when one is given."""
        patient = Patient(
            mrn=person.mrn,
            family_name=person.family_name,
            given_name=person.given_name,
            birth_date=person.birth_date,
            sex=person.sex,
            created_at=created_at or self.clock.now(),
        )
        self.uow.patients.add(patient)
        self.uow.patients.flush()
        if wristband is not None:
            self.identify(patient, wristband, system)
        return patient

    def identify(
        self, patient: Patient, value: str, system: str = WRISTBAND_SYSTEM
    ) -> PatientIdentifier:
        """An identifier (wristband barcode by default) for a stored patient."""
        assert patient.id is not None
        identifier = PatientIdentifier(patient_id=patient.id, system=system, value=value)
        self.uow.patients.add_identifier(identifier)
        return identifier

    # ---------------------------------------------------------------- orders

    def number(self, counter: str, prefix: str, width: int) -> str:
        """The next number of a clinic counter, formatted (``ORD000042``)."""
        return f"{prefix}{self.uow.counters.next_value(counter):0{width}d}"

    def order(
        self,
        patient_id: int,
        codes: Sequence[str] = (),
        *,
        placer: str,
        provider: str,
        provider_id: int | None = None,
        priority: Priority = Priority.ROUTINE,
        source: OrderSource = OrderSource.MANUAL,
        ordered_at: datetime | None = None,
        created_at: datetime | None = None,
        requisition: str = "",
    ) -> tuple[Order, list[OrderedTest]]:
        """An active order with ``codes`` still to collect (status changed when ordered)."""
        at = ordered_at or self.clock.now()
        order = Order(
            placer_order_number=placer,
            patient_id=patient_id,
            ordering_provider=provider,
            ordering_provider_id=provider_id,
            priority=priority,
            source=source,
            ordered_at=at,
            created_at=created_at or at,
            requisition=requisition,
        )
        self.uow.orders.add(order)
        self.uow.orders.flush()
        return order, (self.add_tests(order, codes, changed_at=at) if codes else [])

    def add_tests(
        self,
        order: Order,
        codes: Sequence[str],
        *,
        status: TestStatus = TestStatus.ORDERED,
        specimen: Specimen | None = None,
        changed_at: datetime | None = None,
    ) -> list[OrderedTest]:
        """Tests on ``order``, in ``status``, carried by ``specimen`` when one is given."""
        assert order.id is not None
        tests = [
            OrderedTest(
                order_id=order.id,
                test_code=code,
                status=status,
                specimen_id=specimen.id if specimen is not None else None,
                status_changed_at=changed_at,
            )
            for code in codes
        ]
        for test in tests:
            self.uow.orders.add_test(test)
        self.uow.orders.flush()
        return tests

    def test_for_container(self, container: str) -> str:
        """The first active catalog test drawn into ``container``.

        Raises:
            NotFound: when the catalog has none.
        """
        for test in self.uow.catalog.tests(active_only=True):
            if test.container_code == container:
                return test.code
        raise NotFound(f"The catalog has no test for container {container}.")

    # ---------------------------------------------------------------- specimens

    def specimen(
        self,
        patient_id: int,
        container: str,
        *,
        site_id: int,
        collected_by_id: int,
        collected_at: datetime,
        status: SpecimenStatus = SpecimenStatus.COLLECTED,
        accession: str | None = None,
        created_at: datetime | None = None,
        temperature: TemperatureClass = TemperatureClass.AMBIENT,
        volume_ml: float | None = None,
        note: str = "",
        status_changed_at: datetime | None = None,
    ) -> Specimen:
        """A specimen row placed in ``status`` without custody history (see :meth:`draw`).

        The accession ID is the next of the year's counter unless one is given.
        """
        specimen = Specimen(
            accession=accession or issue_accession(self.uow, self.clock),
            patient_id=patient_id,
            container_code=container,
            site_id=site_id,
            status=status,
            collected_at=collected_at,
            collected_by_id=collected_by_id,
            created_at=created_at or self.clock.now(),
            temperature_class=temperature,
            volume_ml=volume_ml,
            collection_note=note,
            status_changed_at=status_changed_at,
        )
        self.uow.specimens.add(specimen)
        self.uow.specimens.flush()
        return specimen

    def by_container(self, tests: Iterable[OrderedTest]) -> dict[str, list[OrderedTest]]:
        """Ordered tests grouped by the container the catalog draws them into."""
        groups: dict[str, list[OrderedTest]] = {}
        for test in tests:
            groups.setdefault(self._definition(test.test_code).container_code, []).append(test)
        return groups

    def draw(
        self,
        carried: Sequence[OrderedTest],
        *,
        site_id: int,
        collector_id: int,
        at: datetime,
        location: str,
        seal_intact: bool | None = None,
    ) -> Specimen:
        """Collect one tube for ``carried`` (one container), with its first custody event.

        The tube travels at the last test's transport temperature; the tests move to
        collected through the state model; the ``collected`` event starts both hash chains.
        """
        definitions = [self._definition(test.test_code) for test in carried]
        order = self.uow.orders.get(carried[0].order_id)
        assert order is not None
        specimen = self.specimen(
            order.patient_id,
            definitions[0].container_code,
            site_id=site_id,
            collected_by_id=collector_id,
            collected_at=at,
            created_at=at,
            temperature=definitions[-1].transport_temperature,
        )
        for test in carried:
            test.specimen_id = specimen.id
        for test in carried:
            test.status = lifecycle.next_test_status(test.status, TestEvent.COLLECTED)
            test.status_changed_at = at
        handoff = Handoff(
            actor_id=collector_id,
            location=location,
            occurred_at=at,
            temperature_class=specimen.temperature_class,
            seal_intact=seal_intact,
        )
        self.walk(specimen, [(CustodyEventKind.COLLECTED, handoff)])
        return specimen

    def collect(
        self,
        tests: Iterable[OrderedTest],
        *,
        site_id: int,
        collector_id: int,
        at: datetime,
        location: str,
    ) -> list[Specimen]:
        """One drawn tube per container the tests need (see :meth:`draw`)."""
        return [
            self.draw(carried, site_id=site_id, collector_id=collector_id, at=at, location=location)
            for carried in self.by_container(tests).values()
        ]

    def walk(self, specimen: Specimen, steps: Iterable[tuple[CustodyEventKind, Handoff]]) -> None:
        """Record custody events in order; the state model moves the tube and its tests.

        Raises:
            CustodyError: when an event is not allowed from the tube's status.
        """
        for kind, handoff in steps:
            record_event(self.uow, self.clock, specimen, kind, handoff)

    def advance(self, specimen: Specimen, status: SpecimenStatus, handoff: Handoff) -> None:
        """Walk a collected tube on to ``status`` (``CUSTODY_PATH``), every step ``handoff``."""
        self.walk(specimen, [(kind, handoff) for kind in CUSTODY_PATH[status]])

    def _definition(self, code: str) -> CatalogTest:
        definition = self.uow.catalog.get_test(code)
        if definition is None:
            raise NotFound(f"The catalog has no test {code}.")
        return definition
