"""Synthetic demo data: patients and orders in every state of the loop.

Everything here is invented: names come from short lists of common words, MRNs and
accession IDs are generated. The same seed and clock always give the same database.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority, TestStatus
from labdesk.domain.patient import Patient, PatientIdentifier, Sex
from labdesk.domain.people import Role, Site, Station
from labdesk.domain.result import AbnormalFlag, AckMeaning, Acknowledgement, Result, ResultStatus
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.ports import UnitOfWork
from labdesk.services.accession import issue_accession
from labdesk.services.auth import create_user
from labdesk.services.custody import Handoff, record_event
from labdesk.services.custody_demo import seed_custody_demo
from labdesk.services.patients import WRISTBAND_SYSTEM

DEMO_PASSWORD = "labdesk-demo"
DEMO_USERS = (
    ("ma", "Maria Alvarez", Role.MEDICAL_ASSISTANT),
    ("courier", "Chris Okafor", Role.COURIER),
    ("lab", "Lena Brandt", Role.LAB_RECEIVER),
    ("doctor", "Dr. Sam Patel", Role.CLINICIAN),
    ("admin", "Alex Admin", Role.ADMIN),
)
CLINIC_SITE = "CLINIC"
LAB_SITE = "LAB"
DEMO_STATION = "STATION-1"

_FAMILY = (
    "Smith",
    "Johnson",
    "García",
    "Nguyen",
    "O'Brien",
    "Müller",
    "Kowalski",
    "Rossi",
    "Okafor",
    "Haddad",
    "Andersson",
    "Dubois",
    "Ivanova",
    "Tanaka",
    "Silva",
    "Cohen",
    "Brown",
    "Martínez",
    "Lee",
    "Walker",
    "Hernández",
    "Fischer",
    "Novak",
    "Papadopoulos",
)
_GIVEN = (
    "Ana",
    "John",
    "Mei",
    "José",
    "Amara",
    "Liam",
    "Zoë",
    "Omar",
    "Sofia",
    "Noah",
    "Chloé",
    "Ravi",
    "Fatima",
    "Lukas",
    "Yuki",
    "Grace",
    "Mateo",
    "Ingrid",
    "Kofi",
    "Elena",
)
# Panels ordered together at a typical outpatient visit.
_PANELS = (
    ("CBC", "CMP"),
    ("CBC", "BMP", "LIPID", "A1C"),
    ("TSH", "FT4"),
    ("PTINR",),
    ("UA", "UACUL"),
    ("CBC", "PTINR", "CMP", "TSH"),
    ("LIPID", "A1C"),
    ("UDS",),
    ("GLUF", "A1C"),
)
STATES = (
    "pending",
    "collected",
    "in_transit",
    "received",
    "resulted",
    "acknowledged",
    "overdue_pickup",
    "overdue_result",
    "missing",
)


@dataclass(frozen=True)
class DemoSummary:
    """What seeding created."""

    patients: int
    orders: int
    specimens: int
    by_state: dict[str, int]


def ensure_demo_people(uow: UnitOfWork, clock: Clock) -> dict[str, int]:
    """Create the demo sites, station and users when missing; return user ids by name."""
    clinic = uow.people.site_by_code(CLINIC_SITE)
    if clinic is None:
        clinic = Site(code=CLINIC_SITE, name="Riverside Family Clinic")
        uow.people.add(clinic)
        uow.people.add(Site(code=LAB_SITE, name="Central Reference Lab", is_lab=True))
        uow.people.flush()
    if uow.people.station_by_code(DEMO_STATION) is None:
        assert clinic.id is not None
        uow.people.add(Station(code=DEMO_STATION, name="Phlebotomy chair 1", site_id=clinic.id))
    ids = {}
    for username, name, role in DEMO_USERS:
        user = uow.people.user_by_username(username)
        if user is None:
            ids[username] = create_user(
                uow,
                clock,
                username=username,
                display_name=name,
                role=role,
                password=DEMO_PASSWORD,
                enforce_policy=False,  # the demo's published password; synthetic data only
            )
        else:
            assert user.id is not None
            ids[username] = user.id
    return ids


def seed_demo(
    uow: UnitOfWork,
    clock: Clock,
    *,
    patients: int = 40,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Fill the database with synthetic patients and orders in every state (caller commits).

    Patients cycle through ``STATES`` so even a small seed shows each of them.
    """
    rng = random.Random(seed)
    now = clock.now()
    users = ensure_demo_people(uow, clock)
    clinic = uow.people.site_by_code(CLINIC_SITE)
    assert clinic is not None
    assert clinic.id is not None
    counts = dict.fromkeys(STATES, 0)
    n_orders = n_specimens = 0
    base_mrn = 100000 + uow.patients.count()
    for index in range(patients):
        patient = _make_patient(rng, base_mrn + index, now)
        uow.patients.add(patient)
        uow.patients.flush()
        assert patient.id is not None
        uow.patients.add_identifier(
            PatientIdentifier(
                patient_id=patient.id, system=WRISTBAND_SYSTEM, value=f"WB{patient.mrn}"
            )
        )
        state = STATES[index % len(STATES)]
        counts[state] += 1
        n_orders += 1
        n_specimens += _seed_visit(uow, clock, rng, patient.id, state, users, clinic.id, now)
        if progress is not None:
            progress(index + 1, patients)
    seed_custody_demo(uow, clock, users, CLINIC_SITE, LAB_SITE)
    return DemoSummary(patients=patients, orders=n_orders, specimens=n_specimens, by_state=counts)


def _make_patient(rng: random.Random, number: int, now: datetime) -> Patient:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 80))
    return Patient(
        mrn=f"M{number:07d}",
        family_name=rng.choice(_FAMILY),
        given_name=rng.choice(_GIVEN),
        birth_date=born,
        sex=rng.choice((Sex.FEMALE, Sex.MALE)),
        created_at=now,
    )


def _seed_visit(
    uow: UnitOfWork,
    clock: Clock,
    rng: random.Random,
    patient_id: int,
    state: str,
    users: dict[str, int],
    site_id: int,
    now: datetime,
) -> int:
    """Create one order for the patient, driven to ``state``; return specimens made."""
    age = {
        "overdue_pickup": timedelta(hours=30),
        "overdue_result": timedelta(days=4),
        "missing": timedelta(days=2),
    }.get(state, timedelta(minutes=rng.randrange(20, 300)))
    ordered_at = now - age - timedelta(minutes=30)
    stat = rng.random() < 0.15
    order = Order(
        placer_order_number=f"ORD{uow.counters.next_value('demo-order'):06d}",
        patient_id=patient_id,
        ordering_provider="Dr. Sam Patel",
        ordering_provider_id=users["doctor"],
        priority=Priority.STAT if stat else Priority.ROUTINE,
        source=OrderSource.MANUAL,
        ordered_at=ordered_at,
        created_at=ordered_at,
        requisition=f"REQ{rng.randrange(10**6):06d}",
    )
    uow.orders.add(order)
    uow.orders.flush()
    assert order.id is not None
    tests = []
    for code in rng.choice(_PANELS):
        ot = OrderedTest(order_id=order.id, test_code=code, status_changed_at=ordered_at)
        uow.orders.add_test(ot)
        tests.append(ot)
    uow.orders.flush()
    if state == "pending":
        return 0
    return _collect(
        uow, clock, rng, tests, state, users, site_id, ordered_at + timedelta(minutes=20)
    )


def _collect(
    uow: UnitOfWork,
    clock: Clock,
    rng: random.Random,
    tests: list[OrderedTest],
    state: str,
    users: dict[str, int],
    site_id: int,
    collected_at: datetime,
) -> int:
    by_container: dict[str, list[OrderedTest]] = {}
    temperature: dict[str, TemperatureClass] = {}
    for ot in tests:
        definition = uow.catalog.get_test(ot.test_code)
        assert definition is not None, ot.test_code
        by_container.setdefault(definition.container_code, []).append(ot)
        temperature[definition.container_code] = definition.transport_temperature
    order = uow.orders.get(tests[0].order_id)
    assert order is not None
    for container, carried in by_container.items():
        specimen = Specimen(
            accession=issue_accession(uow, clock),
            patient_id=order.patient_id,
            container_code=container,
            site_id=site_id,
            status=SpecimenStatus.COLLECTED,
            collected_at=collected_at,
            collected_by_id=users["ma"],
            created_at=collected_at,
            temperature_class=temperature[container],
        )
        uow.specimens.add(specimen)
        uow.specimens.flush()
        assert specimen.id is not None
        for ot in carried:
            ot.specimen_id = specimen.id
        _walk(uow, clock, rng, specimen, carried, state, users, collected_at)
    return len(by_container)


_PATH = {
    "collected": ("labelled", "verified"),
    "overdue_pickup": ("labelled", "verified"),
    "in_transit": ("labelled", "verified", "picked_up"),
    "missing": ("labelled", "verified", "picked_up", "lost"),
    "received": ("labelled", "verified", "picked_up", "received"),
    "overdue_result": ("labelled", "verified", "picked_up", "received"),
    "resulted": ("labelled", "verified", "picked_up", "received"),
    "acknowledged": ("labelled", "verified", "picked_up", "received"),
}
_TEST_STATUS = {
    "collected": TestStatus.COLLECTED,
    "overdue_pickup": TestStatus.COLLECTED,
    "in_transit": TestStatus.IN_TRANSIT,
    "missing": TestStatus.IN_TRANSIT,
    "received": TestStatus.RECEIVED,
    "overdue_result": TestStatus.RECEIVED,
    "resulted": TestStatus.FINAL,
    "acknowledged": TestStatus.ACKNOWLEDGED,
}


def _walk(
    uow: UnitOfWork,
    clock: Clock,
    rng: random.Random,
    specimen: Specimen,
    carried: list[OrderedTest],
    state: str,
    users: dict[str, int],
    at: datetime,
) -> None:
    """Record the custody events that bring ``specimen`` to ``state``."""
    steps = {
        "collected": (users["ma"], "CLINIC / STATION-1", timedelta(0)),
        "labelled": (users["ma"], "CLINIC / STATION-1", timedelta(minutes=1)),
        "verified": (users["ma"], "CLINIC / STATION-1", timedelta(minutes=2)),
        "picked_up": (users["courier"], "CLINIC pickup", timedelta(minutes=40)),
        "received": (users["lab"], "LAB receiving", timedelta(minutes=95)),
        "lost": (users["courier"], "In transit", timedelta(hours=20)),
    }
    for name in ("collected", *_PATH[state]):
        actor, where, offset = steps[name]
        record_event(
            uow,
            clock,
            specimen,
            CustodyEventKind(name),
            Handoff(
                actor_id=actor,
                location=where,
                occurred_at=at + offset,
                temperature_class=specimen.temperature_class,
                seal_intact=True,
                reason="Bag not delivered with route 2" if name == "lost" else "",
            ),
        )
    status = _TEST_STATUS[state]
    for ot in carried:
        ot.status = status
        ot.status_changed_at = at + timedelta(minutes=95)
    if state in {"resulted", "acknowledged"}:
        for ot in carried:
            _result(uow, rng, ot, specimen, at + timedelta(hours=3))
            if state == "acknowledged":
                assert ot.id is not None
                uow.results.add_acknowledgement(
                    Acknowledgement(
                        ordered_test_id=ot.id,
                        user_id=users["doctor"],
                        meaning=AckMeaning.REVIEWED,
                        acknowledged_at=at + timedelta(hours=5),
                    )
                )


def _result(
    uow: UnitOfWork, rng: random.Random, ot: OrderedTest, specimen: Specimen, at: datetime
) -> None:
    definition = uow.catalog.get_test(ot.test_code)
    assert definition is not None
    low, high = definition.critical_low, definition.critical_high
    if low is not None and high is not None:
        span = high - low
        value = round(rng.uniform(low + 0.2 * span, high - 0.4 * span), 1)
        flag = AbnormalFlag.NORMAL
    else:
        value, flag = 1.0, AbnormalFlag.NORMAL
    uow.results.add(
        Result(
            observation_code=definition.loinc,
            observation_name=definition.name,
            value=str(value),
            units=definition.units,
            status=ResultStatus.FINAL,
            abnormal_flag=flag,
            received_at=at,
            observed_at=at,
            ordered_test_id=ot.id,
            specimen_id=specimen.id,
        )
    )
