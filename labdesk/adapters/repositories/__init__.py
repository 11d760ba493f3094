"""SQLAlchemy repositories: the only place queries are written.

Each repository wraps one Session owned by the unit of work; none commits.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.dml import ReturningInsert

from labdesk.adapters import orm
from labdesk.adapters.chain_anchor import mark_touched
from labdesk.domain.audit import AuditEntry
from labdesk.domain.catalog import ContainerType, TestDefinition
from labdesk.domain.custody import CustodyEvent
from labdesk.domain.hashchain import AUDIT, CUSTODY
from labdesk.domain.order import Order, OrderedTest, OrderStatus, TestStatus
from labdesk.domain.patient import NAME_SEPARATOR, Patient, PatientIdentifier, fold
from labdesk.domain.people import Site, Station, User
from labdesk.domain.printing import PrintJob
from labdesk.domain.result import Acknowledgement, Result
from labdesk.domain.specimen import Specimen

_Ref = TypeVar("_Ref")
_HELD = "labdesk.held"


def _held(session: Session, found: _Ref) -> _Ref:
    """Keep a reference row (site, test, container) for the rest of the unit of work.

    The session's identity map holds its objects weakly: a row nobody references any more
    is dropped, so the next ``session.get`` of the same key is another round trip. A
    courier scan read its site three times and a wristband scan its tests five times; on
    PostgreSQL each is a network round trip. Held here, one read per unit of work serves
    every later ``get`` (the session, and so the list, goes away with the unit of work).
    """
    if found is not None:
        session.info.setdefault(_HELD, []).append(found)
    return found


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def flush(self) -> None:
        """Send pending changes so generated ids are known."""
        self.session.flush()


class CounterRepository(_Repository):
    """Atomic, clinic-wide counters (accession serials)."""

    def next_value(self, name: str) -> int:
        """Increment counter ``name`` (created at 1) and return its new value.

        One upsert (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``), one round trip: the
        update takes the row lock (PostgreSQL) or the write lock (SQLite), so concurrent
        workstations never receive the same value. Every audit entry, custody event and
        accession bumps a counter, so a second statement here was a round trip in each.
        """
        stmt = _bump_counter(self.session.get_bind().dialect.name)
        return int(self.session.execute(stmt, {"name": name, "value": 1}).scalar_one())


@functools.cache
def _bump_counter(dialect: str) -> ReturningInsert[Any]:
    """The counter upsert, built once per dialect: building it (and its cache key) on each
    call took several times as long as running it on SQLite."""
    ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        ins(orm.counters)
        .on_conflict_do_update(
            index_elements=[orm.counters.c.name],
            set_={"value": orm.counters.c.value + 1},
        )
        .returning(orm.counters.c.value)
    )


class PatientRepository(_Repository):
    """Patients and their identifiers."""

    def add(self, patient: Patient) -> None:
        """Stage a new patient."""
        self.session.add(patient)

    def add_identifier(self, identifier: PatientIdentifier) -> None:
        """Stage another identifier for a patient."""
        self.session.add(identifier)

    def get(self, patient_id: int) -> Patient | None:
        """Patient by primary key."""
        return self.session.get(Patient, patient_id)

    def exists(self, patient_id: int) -> bool:
        """Whether patient ``patient_id`` exists (one indexed read, no entity loaded)."""
        if self.session.identity_map.get(identity_key(Patient, patient_id)) is not None:
            return True
        stmt = select(orm.patients.c.id).where(orm.patients.c.id == patient_id)
        return self.session.execute(stmt).first() is not None

    def by_mrn(self, mrn: str) -> Patient | None:
        """Patient by medical record number (exact)."""
        return self.session.scalars(select(Patient).where(orm.patients.c.mrn == mrn)).first()

    def by_identifier(self, system: str, value: str) -> Patient | None:
        """Patient by another identifier (wristband, card...)."""
        stmt = (
            select(Patient)
            .join(
                orm.patient_identifiers, orm.patient_identifiers.c.patient_id == orm.patients.c.id
            )
            .where(orm.patient_identifiers.c.system == system)
            .where(orm.patient_identifiers.c.value == value)
        )
        return self.session.scalars(stmt).first()

    def identifiers(self, patient_id: int) -> Sequence[PatientIdentifier]:
        """All other identifiers of a patient."""
        stmt = select(PatientIdentifier).where(orm.patient_identifiers.c.patient_id == patient_id)
        return self.session.scalars(stmt).all()

    def search_name_prefix(
        self, family: str, given: str = "", limit: int = 25
    ) -> Sequence[Patient]:
        """Patients whose folded family name (and given name) start with the given text.

        A range scan on the ``name_key`` index: ``key >= prefix AND key < prefix + max``.
        """
        prefix = fold(family)
        if given:
            prefix = f"{prefix}{NAME_SEPARATOR}{fold(given)}"
        if not prefix:
            return []
        stmt = (
            select(Patient)
            .where(orm.patients.c.name_key >= prefix)
            .where(orm.patients.c.name_key < prefix + "\uffff")
            .order_by(orm.patients.c.name_key, orm.patients.c.birth_date)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def search_family_then_given(
        self, family: str, given: str, limit: int = 25
    ) -> Sequence[Patient]:
        """Patients whose folded family name starts with ``family`` and given name with ``given``.

        One range scan of the family prefix on the ``name_key`` index; the given name is
        matched on the index entry (``FAMILY…<sep>GIVEN…``), so rows that do not match are
        never loaded. Folded text holds only letters, digits and spaces: no LIKE wildcards.
        """
        head, tail = fold(family), fold(given)
        if not head:
            return []
        key = orm.patients.c.name_key
        stmt = (
            select(Patient)
            .where(key >= head)
            .where(key < head + "\uffff")
            .where(key.like(f"{head}%{NAME_SEPARATOR}{tail}%"))
            .order_by(key, orm.patients.c.birth_date)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def by_birth_date(self, born: date, limit: int = 25) -> Sequence[Patient]:
        """Patients born on ``born``."""
        stmt = (
            select(Patient)
            .where(orm.patients.c.birth_date == born)
            .order_by(orm.patients.c.name_key)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def mrn_prefix(self, prefix: str, limit: int = 25) -> Sequence[Patient]:
        """Patients whose MRN starts with ``prefix`` (index range scan)."""
        stmt = (
            select(Patient)
            .where(orm.patients.c.mrn >= prefix)
            .where(orm.patients.c.mrn < prefix + "\uffff")
            .order_by(orm.patients.c.mrn)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def count(self) -> int:
        """Number of patients."""
        return int(self.session.scalar(select(func.count()).select_from(orm.patients)) or 0)


class CatalogRepository(_Repository):
    """Container types and test definitions."""

    def containers(self) -> Sequence[ContainerType]:
        """All container types in order of draw."""
        stmt = select(ContainerType).order_by(
            orm.container_types.c.draw_rank, orm.container_types.c.code
        )
        return self.session.scalars(stmt).all()

    def tests(self, *, active_only: bool = False) -> Sequence[TestDefinition]:
        """All test definitions by code."""
        stmt = select(TestDefinition).order_by(orm.test_definitions.c.code)
        if active_only:
            stmt = stmt.where(orm.test_definitions.c.active.is_(True))
        return self.session.scalars(stmt).all()

    def unorderable(self, codes: Sequence[str]) -> list[str]:
        """Those of ``codes`` that are not an active test of the catalog, in their order.

        One read for the whole order instead of an entity per code (placing an order only
        needs to know each test may be ordered).
        """
        t = orm.test_definitions.c
        active = set(
            self.session.scalars(select(t.code).where(t.code.in_(list(codes)), t.active.is_(True)))
        )
        return [code for code in codes if code not in active]

    def get_test(self, code: str) -> TestDefinition | None:
        """Test definition by code (read once per unit of work, see :func:`_held`)."""
        return _held(self.session, self.session.get(TestDefinition, code))

    def get_container(self, code: str) -> ContainerType | None:
        """Container type by code (read once per unit of work, see :func:`_held`)."""
        return _held(self.session, self.session.get(ContainerType, code))

    def merge_container(self, container: ContainerType) -> None:
        """Insert or replace a container type."""
        self.session.merge(container)

    def merge_test(self, test: TestDefinition) -> None:
        """Insert or replace a test definition."""
        self.session.merge(test)

    def count_tests(self) -> int:
        """Number of test definitions."""
        return int(self.session.scalar(select(func.count()).select_from(orm.test_definitions)) or 0)


class OrderRepository(_Repository):
    """Orders and ordered tests."""

    def add(self, order: Order) -> None:
        """Stage a new order."""
        self.session.add(order)

    def add_test(self, test: OrderedTest) -> None:
        """Stage a new ordered test."""
        self.session.add(test)

    def get(self, order_id: int) -> Order | None:
        """Order by primary key."""
        return self.session.get(Order, order_id)

    def by_placer_number(self, number: str) -> Order | None:
        """Order by placer order number."""
        stmt = select(Order).where(orm.orders.c.placer_order_number == number)
        return self.session.scalars(stmt).first()

    def active_for_patient(self, patient_id: int) -> Sequence[Order]:
        """A patient's active orders, oldest first."""
        stmt = (
            select(Order)
            .where(orm.orders.c.patient_id == patient_id)
            .where(orm.orders.c.status == OrderStatus.ACTIVE)
            .order_by(orm.orders.c.ordered_at)
        )
        return self.session.scalars(stmt).all()

    def tests_for_orders(self, order_ids: Sequence[int]) -> Sequence[OrderedTest]:
        """Ordered tests of several orders."""
        if not order_ids:
            return []
        stmt = (
            select(OrderedTest)
            .where(orm.ordered_tests.c.order_id.in_(order_ids))
            .order_by(orm.ordered_tests.c.id)
        )
        return self.session.scalars(stmt).all()

    def tests_for_specimen(self, specimen_id: int) -> Sequence[OrderedTest]:
        """Ordered tests carried by a specimen."""
        stmt = select(OrderedTest).where(orm.ordered_tests.c.specimen_id == specimen_id)
        return self.session.scalars(stmt).all()

    def count_tests_by_status(self) -> dict[TestStatus, int]:
        """How many ordered tests are in each status."""
        stmt = select(orm.ordered_tests.c.status, func.count()).group_by(orm.ordered_tests.c.status)
        return {TestStatus(status): int(n) for status, n in self.session.execute(stmt)}


class SpecimenRepository(_Repository):
    """Specimens."""

    def add(self, specimen: Specimen) -> None:
        """Stage a new specimen."""
        self.session.add(specimen)

    def get(self, specimen_id: int) -> Specimen | None:
        """Specimen by primary key."""
        return self.session.get(Specimen, specimen_id)

    def by_accession(self, accession: str) -> Specimen | None:
        """Specimen by accession ID (unique index probe)."""
        stmt = select(Specimen).where(orm.specimens.c.accession == accession)
        return self.session.scalars(stmt).first()

    def for_patient(self, patient_id: int, limit: int = 200) -> Sequence[Specimen]:
        """A patient's specimens, newest first."""
        stmt = (
            select(Specimen)
            .where(orm.specimens.c.patient_id == patient_id)
            .order_by(orm.specimens.c.collected_at.desc())
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def count(self) -> int:
        """Number of specimens."""
        return int(self.session.scalar(select(func.count()).select_from(orm.specimens)) or 0)


class PeopleRepository(_Repository):
    """Users, sites and stations."""

    def add(self, item: User | Site | Station) -> None:
        """Stage a new user, site or station."""
        self.session.add(item)

    def user(self, user_id: int) -> User | None:
        """User by primary key."""
        return self.session.get(User, user_id)

    def user_by_username(self, username: str) -> User | None:
        """User by user name (case-insensitive: stored lower-case)."""
        stmt = select(User).where(orm.users.c.username == username.strip().lower())
        return self.session.scalars(stmt).first()

    def user_by_badge(self, badge_id: str) -> User | None:
        """User by badge ID."""
        return self.session.scalars(select(User).where(orm.users.c.badge_id == badge_id)).first()

    def users(self) -> Sequence[User]:
        """All users by user name."""
        return self.session.scalars(select(User).order_by(orm.users.c.username)).all()

    def site_by_code(self, code: str) -> Site | None:
        """Site by code."""
        return self.session.scalars(select(Site).where(orm.sites.c.code == code)).first()

    def site(self, site_id: int) -> Site | None:
        """Site by primary key (read once per unit of work, see :func:`_held`)."""
        return _held(self.session, self.session.get(Site, site_id))

    def sites(self) -> Sequence[Site]:
        """All sites."""
        return self.session.scalars(select(Site).order_by(orm.sites.c.code)).all()

    def station_by_code(self, code: str) -> Station | None:
        """Station by code."""
        return self.session.scalars(select(Station).where(orm.stations.c.code == code)).first()

    def stations(self) -> Sequence[Station]:
        """All stations."""
        return self.session.scalars(select(Station).order_by(orm.stations.c.code)).all()


class PrintJobRepository(_Repository):
    """Persisted print jobs."""

    def add(self, job: PrintJob) -> None:
        """Stage a new job."""
        self.session.add(job)

    def get(self, job_id: int) -> PrintJob | None:
        """Job by primary key."""
        return self.session.get(PrintJob, job_id)


class CustodyRepository(_Repository):
    """Append-only custody events."""

    def lock_chain(self) -> None:
        """Serialise writers of the clinic-wide chain (row lock / SQLite write lock)."""
        CounterRepository(self.session).next_value("custody-chain")
        mark_touched(self.session, CUSTODY)

    def append(self, event: CustodyEvent) -> None:
        """Stage a new event (never updated or deleted afterwards)."""
        self.session.add(event)

    def last_for_specimen(self, specimen_id: int) -> CustodyEvent | None:
        """The specimen's latest event."""
        stmt = (
            select(CustodyEvent)
            .where(orm.custody_events.c.specimen_id == specimen_id)
            .order_by(orm.custody_events.c.seq.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def last(self) -> CustodyEvent | None:
        """The latest event clinic-wide."""
        stmt = select(CustodyEvent).order_by(orm.custody_events.c.id.desc()).limit(1)
        return self.session.scalars(stmt).first()

    def for_specimen(self, specimen_id: int) -> Sequence[CustodyEvent]:
        """A specimen's events in order."""
        stmt = (
            select(CustodyEvent)
            .where(orm.custody_events.c.specimen_id == specimen_id)
            .order_by(orm.custody_events.c.seq)
        )
        return self.session.scalars(stmt).all()


class ResultRepository(_Repository):
    """Results and acknowledgements."""

    def add(self, result: Result) -> None:
        """Stage a new result."""
        self.session.add(result)

    def add_acknowledgement(self, ack: Acknowledgement) -> None:
        """Stage a clinician's acknowledgement."""
        self.session.add(ack)

    def for_ordered_test(self, ordered_test_id: int) -> Sequence[Result]:
        """An ordered test's results, oldest first (corrections keep the history)."""
        stmt = (
            select(Result)
            .where(orm.results.c.ordered_test_id == ordered_test_id)
            .order_by(orm.results.c.id)
        )
        return self.session.scalars(stmt).all()


class AuditRepository(_Repository):
    """The append-only audit log."""

    def lock_chain(self) -> None:
        """Serialise writers of the audit chain."""
        CounterRepository(self.session).next_value("audit-chain")
        mark_touched(self.session, AUDIT)

    def append(self, entry: AuditEntry) -> None:
        """Stage a new entry (never updated or deleted afterwards)."""
        self.session.add(entry)

    def last(self) -> AuditEntry | None:
        """The latest entry."""
        stmt = select(AuditEntry).order_by(orm.audit_entries.c.id.desc()).limit(1)
        return self.session.scalars(stmt).first()

    def last_hash(self) -> str | None:
        """The latest entry's hash, None for an empty log (what the next entry links to).

        One column read, not an ORM entity: every audited command runs it, and loading the
        entity cost more than the query.
        """
        stmt = select(orm.audit_entries.c.hash).order_by(orm.audit_entries.c.id.desc()).limit(1)
        found = self.session.execute(stmt).scalar()
        return None if found is None else str(found)

    def all_in_order(self) -> Sequence[AuditEntry]:
        """Every entry, oldest first."""
        return self.session.scalars(select(AuditEntry).order_by(orm.audit_entries.c.id)).all()
