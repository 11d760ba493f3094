"""Synthetic demo data: patients and orders in every state of the loop.

Everything here is invented: names come from short lists of common words, MRNs and
accession IDs are generated. The same seed and clock always give the same database.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from labdesk.access.auth import create_user
from labdesk.custody.events import Handoff, record_event
from labdesk.domain import lifecycle
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.lifecycle import TestEvent
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.patient import Patient, PatientIdentifier, Sex
from labdesk.domain.people import Role, Site, Station
from labdesk.domain.result import AbnormalFlag, AckMeaning, Acknowledgement, Result, ResultStatus
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.ports import UnitOfWork
from labdesk.seed.custody import seed_custody_demo
from labdesk.station.accession import issue_accession
from labdesk.station.patients import WRISTBAND_SYSTEM

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
    "overdue_transit",
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
        "overdue_transit": timedelta(hours=6),  # picked up, never arrived, not reported lost
        "missing": timedelta(days=2),
    }.get(state, timedelta(minutes=rng.randrange(20, 300)))
    ordered_at = now - age - timedelta(minutes=30)
    # The visit's last moment (a pickup, a result, a signature) lies in the past: an order
    # placed 20 minutes ago cannot carry a result reported three hours after its collection.
    late = ordered_at + _COLLECTED_AFTER_ORDER + _last_moment(state) - (now - _SETTLED)
    if late > timedelta(0):
        ordered_at -= late
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
        uow, clock, rng, tests, state, users, site_id, ordered_at + _COLLECTED_AFTER_ORDER
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
    "overdue_transit": ("labelled", "verified", "picked_up"),
    "missing": ("labelled", "verified", "picked_up", "lost"),
    "received": ("labelled", "verified", "picked_up", "received"),
    "overdue_result": ("labelled", "verified", "picked_up", "received"),
    "resulted": ("labelled", "verified", "picked_up", "received"),
    "acknowledged": ("labelled", "verified", "picked_up", "received"),
}
_COLLECTED_AFTER_ORDER = timedelta(minutes=20)
_SETTLED = timedelta(minutes=5)
"""How long before "now" a visit's last moment lies at the latest."""
_AFTER_COLLECTION = {
    "collected": timedelta(0),
    "labelled": timedelta(minutes=1),
    "verified": timedelta(minutes=2),
    "picked_up": timedelta(minutes=40),
    "received": timedelta(minutes=95),
    "lost": timedelta(hours=20),
    "observed": timedelta(hours=2, minutes=30),  # analysed at the lab
    "reported": timedelta(hours=3),  # the result reaches the clinic
    "signed": timedelta(hours=5),  # the clinician acknowledges it
}
"""When each moment of a visit comes, counted from the collection."""
_STEP_PLACES = {
    "collected": ("ma", "CLINIC / STATION-1"),
    "labelled": ("ma", "CLINIC / STATION-1"),
    "verified": ("ma", "CLINIC / STATION-1"),
    "picked_up": ("courier", "CLINIC pickup"),
    "received": ("lab", "LAB receiving"),
    "lost": ("courier", "In transit"),
}
# The lab's and the clinician's steps after the custody path, as state-model events with the
# moment they come. The custody events move the tests themselves (record_event follows the
# state model), so a lost tube's tests are lost, as in the clinic.
_AFTER_PATH = {
    "resulted": ((TestEvent.RESULT_FINAL, "reported"),),
    "acknowledged": ((TestEvent.RESULT_FINAL, "reported"), (TestEvent.ACKNOWLEDGED, "signed")),
}
_WALKED = frozenset(_PATH)
"""States whose tubes were drawn (the others are still pending)."""


def _last_moment(state: str) -> timedelta:
    """How long after the collection the last moment of a visit in ``state`` comes."""
    if state not in _WALKED:  # pending: nothing after the order
        return -_COLLECTED_AFTER_ORDER
    moments = [*_PATH[state], *(moment for _event, moment in _AFTER_PATH.get(state, ()))]
    return max(_AFTER_COLLECTION[m] for m in moments)


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
    """Record the custody events that bring ``specimen`` to ``state`` (``at``: collection)."""
    for ot in carried:
        ot.status = lifecycle.next_test_status(ot.status, TestEvent.COLLECTED)
        ot.status_changed_at = at
    for name in ("collected", *_PATH[state]):
        actor, where = _STEP_PLACES[name]
        record_event(
            uow,
            clock,
            specimen,
            CustodyEventKind(name),
            Handoff(
                actor_id=users[actor],
                location=where,
                occurred_at=at + _AFTER_COLLECTION[name],
                temperature_class=specimen.temperature_class,
                seal_intact=True,
                reason="Bag not delivered with route 2" if name == "lost" else "",
            ),
        )
    for event, moment in _AFTER_PATH.get(state, ()):
        for ot in carried:
            ot.status = lifecycle.next_test_status(ot.status, event)
            ot.status_changed_at = at + _AFTER_COLLECTION[moment]
    if state in _AFTER_PATH:
        for ot in carried:
            _result(uow, rng, ot, specimen, at)
            if state == "acknowledged":
                assert ot.id is not None
                uow.results.add_acknowledgement(
                    Acknowledgement(
                        ordered_test_id=ot.id,
                        user_id=users["doctor"],
                        meaning=AckMeaning.REVIEWED,
                        acknowledged_at=at + _AFTER_COLLECTION["signed"],
                    )
                )


def _result(
    uow: UnitOfWork, rng: random.Random, ot: OrderedTest, specimen: Specimen, collected: datetime
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
            received_at=collected + _AFTER_COLLECTION["reported"],
            observed_at=collected + _AFTER_COLLECTION["observed"],
            ordered_test_id=ot.id,
            specimen_id=specimen.id,
        )
    )
