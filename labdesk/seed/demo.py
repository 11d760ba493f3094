"""Synthetic demo data: patients and orders in every state of the loop.

Everything here is invented: names come from short lists of common words, MRNs and
accession IDs are generated. The same seed and clock always give the same database.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from labdesk.custody.events import Handoff
from labdesk.domain import lifecycle
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.lifecycle import TestEvent
from labdesk.domain.loss import LossReason
from labdesk.domain.order import OrderedTest, OrderSource, Priority
from labdesk.domain.result import AbnormalFlag, AckMeaning, Acknowledgement, Result, ResultStatus
from labdesk.domain.specimen import Specimen
from labdesk.ports import UnitOfWork
from labdesk.seed.builder import ClinicBuilder, Passwords
from labdesk.seed.custody import seed_custody_demo
from labdesk.seed.names import everyday_person, wristband_of
from labdesk.seed.reference import DEMO_CLINIC, DEMO_PROVIDER, PANELS, STAT_SHARE

DEMO_PASSWORD = "labdesk-demo"
DEMO_USERS = tuple((s.username, s.display_name, s.role) for s in DEMO_CLINIC.staff)
CLINIC_SITE = DEMO_CLINIC.sites[0].code
LAB_SITE = DEMO_CLINIC.sites[1].code
DEMO_STATION = DEMO_CLINIC.stations[0].code
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
    build = ClinicBuilder(uow, clock)
    build.reference(DEMO_CLINIC, routes=False)  # the route comes with the custody data
    users = build.staff(
        DEMO_CLINIC.staff,
        passwords=Passwords.EACH,
        password=DEMO_PASSWORD,
        enforce_policy=False,  # the demo's published password; synthetic data only
    )
    return {name: user.id for name, user in users.items() if user.id is not None}


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
    build = ClinicBuilder(uow, clock)
    clinic = uow.people.site_by_code(CLINIC_SITE)
    assert clinic is not None
    assert clinic.id is not None
    counts = dict.fromkeys(STATES, 0)
    n_orders = n_specimens = 0
    base_mrn = 100000 + uow.patients.count()
    for index in range(patients):
        person = everyday_person(rng, base_mrn + index)
        patient = build.patient(person, wristband=wristband_of(person.mrn), created_at=now)
        assert patient.id is not None
        state = STATES[index % len(STATES)]
        counts[state] += 1
        n_orders += 1
        n_specimens += _seed_visit(build, rng, patient.id, state, users, clinic.id, now)
        if progress is not None:
            progress(index + 1, patients)
    seed_custody_demo(uow, clock, users, CLINIC_SITE, LAB_SITE)
    return DemoSummary(patients=patients, orders=n_orders, specimens=n_specimens, by_state=counts)


def _seed_visit(
    build: ClinicBuilder,
    rng: random.Random,
    patient_id: int,
    state: str,
    users: dict[str, int],
    site_id: int,
    now: datetime,
) -> int:
    """Create one order for the patient, driven to ``state``; return specimens made."""
    usual = timedelta(minutes=rng.randrange(20, 300))  # drawn for every state: same sequence
    age = _AGES.get(state, usual)
    ordered_at = now - age - timedelta(minutes=30)
    # The visit's last moment (a pickup, a result, a signature) lies in the past: an order
    # placed 20 minutes ago cannot carry a result reported three hours after its collection.
    late = ordered_at + _COLLECTED_AFTER_ORDER + _last_moment(state) - (now - _SETTLED)
    if late > timedelta(0):
        ordered_at -= late
    stat = rng.random() < STAT_SHARE
    placer = build.number("demo-order", "ORD", 6)
    requisition = f"REQ{rng.randrange(10**6):06d}"
    _, tests = build.order(
        patient_id,
        rng.choice(PANELS),
        placer=placer,
        provider=DEMO_PROVIDER,
        provider_id=users["doctor"],
        priority=Priority.STAT if stat else Priority.ROUTINE,
        source=OrderSource.MANUAL,
        ordered_at=ordered_at,
        requisition=requisition,
    )
    if state == "pending":
        return 0
    collected_at = ordered_at + _COLLECTED_AFTER_ORDER
    collector, where = _STEP_PLACES["collected"]
    groups = build.by_container(tests)
    for carried in groups.values():
        specimen = build.draw(
            carried,
            site_id=site_id,
            collector_id=users[collector],
            at=collected_at,
            location=where,
            seal_intact=True,
        )
        _walk(build, rng, specimen, carried, state, users, collected_at)
    return len(groups)


_AGES = {
    "overdue_pickup": timedelta(hours=30),
    "overdue_result": timedelta(days=4),
    "overdue_transit": timedelta(hours=6),  # picked up, never arrived, not reported lost
    "missing": timedelta(days=2),
}
"""How long ago the overdue and missing visits were ordered (others: 20 to 300 minutes)."""
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
    build: ClinicBuilder,
    rng: random.Random,
    specimen: Specimen,
    carried: list[OrderedTest],
    state: str,
    users: dict[str, int],
    at: datetime,
) -> None:
    """Walk a drawn tube on to ``state``, then the lab's and clinician's steps (``at``: drawn)."""
    steps = [(CustodyEventKind(n), _handoff(specimen, n, users, at)) for n in _PATH[state]]
    build.walk(specimen, steps)
    for event, moment in _AFTER_PATH.get(state, ()):
        for ot in carried:
            ot.status = lifecycle.next_test_status(ot.status, event)
            ot.status_changed_at = at + _AFTER_COLLECTION[moment]
    if state in _AFTER_PATH:
        for ot in carried:
            _result(build.uow, rng, ot, specimen, at)
            if state == "acknowledged":
                assert ot.id is not None
                build.uow.results.add_acknowledgement(
                    Acknowledgement(
                        ordered_test_id=ot.id,
                        user_id=users["doctor"],
                        meaning=AckMeaning.REVIEWED,
                        acknowledged_at=at + _AFTER_COLLECTION["signed"],
                    )
                )


def _handoff(specimen: Specimen, name: str, users: dict[str, int], at: datetime) -> Handoff:
    """Who records custody step ``name`` of a visit, where and when."""
    actor, where = _STEP_PLACES[name]
    return Handoff(
        actor_id=users[actor],
        location=where,
        occurred_at=at + _AFTER_COLLECTION[name],
        temperature_class=specimen.temperature_class,
        seal_intact=True,
        reason=LossReason.NOT_IN_BAG.value if name == "lost" else "",
        note="Bag not delivered with route 2" if name == "lost" else "",
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
