"""Add-on tests: adding a test to a specimen already drawn, when the catalog says it fits.

A clinician or the lab asks "please add this test to the sample already drawn". The station
(or the results screen) first asks :func:`preview_add_on`, which answers allowed or refused
with every reason (:func:`labdesk.domain.add_on.decide_add_on`: same specimen type and
container, within the test's stability at the specimen's temperature since the original
collection, enough volume left). :func:`add_test_to_specimen` then checks again with the
specimen's row locked, and in one transaction:

- puts the test on the specimen: the patient's pending (not yet drawn) order of the test
  when there is one, else a new manual order for it, requested by the person who asked;
- moves it with the state model's ``added_on`` event to the specimen's state
  (:func:`labdesk.domain.lifecycle.added_on_status`), its status time the original
  collection's, so the board's overdue clock starts there;
- records the volume it reserves (``test_reservations``, the unique key of which makes two
  simultaneous add-ons of one test end with exactly one winner);
- records an ``added_on`` custody event on the specimen's chain (the note names the test
  and who asked) and queues an OML^O21 for the lab with only the added test and an ``NTE``
  saying it is an add-on (:func:`labdesk.station.collect.announce_add_on`);
- writes the audit entry.

The ADD-ON label is an ordinary label print of the specimen afterwards (its label content
marks the added tests), sent by the screen with the printing commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from labdesk.domain.accession import validate_accession
from labdesk.domain.add_on import (
    RESULTED,
    AddOnDecision,
    CarriedTest,
    ProvenPreparation,
    SpecimenFacts,
    VolumeReservation,
    decide_add_on,
    reserved_volume,
)
from labdesk.domain.audit import AuditAction
from labdesk.domain.catalog import TestDefinition
from labdesk.domain.clock import Clock
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.lifecycle import TestEvent, added_on_status, next_test_status
from labdesk.domain.order import (
    Order,
    OrderedTest,
    OrderSource,
    OrderStatus,
    Priority,
    TestStatus,
)
from labdesk.domain.permissions import Permission
from labdesk.domain.preparation import PreparationKind, PreparationRule
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.domain.timefmt import format_local
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.station.blood_volume import as_drawn_in
from labdesk.station.collect import announce_add_on

MIN_REQUESTER = 3


class AddOnRefused(ValidationError):
    """The catalog (or the tube's state) does not allow the add-on; ``reasons`` says why."""

    def __init__(self, test_code: str, accession: str, reasons: tuple[str, ...]) -> None:
        super().__init__(
            f"{test_code} cannot be added to {accession}: " + "; ".join(reasons) + ".",
            hint="Order a new collection of the test instead.",
        )
        self.reasons = reasons


class AddOnConflict(ValidationError):
    """Someone else added the same test to the same specimen a moment ago."""


@dataclass(frozen=True, kw_only=True)
class AddOnPreview:
    """What the add-on dialog shows before anything is saved."""

    accession: str
    specimen_id: int
    patient_id: int
    test_code: str
    test_name: str
    specimen_type: str
    container_code: str
    collected_at: datetime
    allowed: bool
    reasons: tuple[str, ...]
    summary: str
    left_ml: float
    needed_ml: float
    stable_until: datetime | None


@dataclass(frozen=True, kw_only=True)
class AddOnResult:
    """What an add-on did."""

    accession: str
    specimen_id: int
    ordered_test_id: int
    order_id: int
    test_code: str
    status: TestStatus
    new_order: bool
    """True when a new order was entered for the test (no pending order of it existed)."""
    outbound_id: int


def add_on_note(test_code: str, accession: str, collected: str, requested_by: str) -> str:
    """The note of an add-on: on the specimen's ``added_on`` custody event, and the lab's
    NTE after the added test's OBR."""
    return (
        f"Add-on {test_code} to specimen {accession} collected {collected}; "
        f"requested by {requested_by}"
    )


def find_specimen(uow: UnitOfWork, accession: str) -> Specimen:
    """The specimen with a scanned or typed accession ID.

    Raises:
        InvalidAccession: malformed ID or failed check digit.
        NotFound: no specimen has it.
    """
    accession = validate_accession(accession)
    specimen = uow.specimens.by_accession(accession)
    if specimen is None:
        raise NotFound(
            f"No specimen has accession ID {accession}.",
            hint="Scan the tube's label again, or check the number on the request.",
        )
    return specimen


def _test(uow: UnitOfWork, code: str) -> TestDefinition:
    definition = uow.catalog.get_test(code.strip().upper())
    if definition is None:
        raise NotFound(f"'{code}' is not a test in the catalog.", hint="Pick it from the list.")
    return definition


def specimen_facts(uow: UnitOfWork, specimen: Specimen) -> SpecimenFacts:
    """What the add-on rule needs about ``specimen``, read from the database now.

    Tests without a recorded reservation (drawn before reservations were kept) reserve the
    catalog's current minimum volume.
    """
    assert specimen.id is not None
    reserved = uow.add_ons.for_specimen(specimen.id)
    carried = []
    tests = list(uow.orders.tests_for_specimen(specimen.id))
    for ot in tests:
        definition = uow.catalog.get_test(ot.test_code)
        found = reserved.get(ot.id or 0)
        if found is not None:
            volume = found.volume_ml
        elif definition is not None:  # in a pediatric tube: what that tube needs
            volume = reserved_volume(as_drawn_in(uow, definition, specimen.container_code))
        else:
            volume = 0
        carried.append(
            CarriedTest(
                code=ot.test_code,
                status=ot.status,
                specimen_type=definition.specimen_type if definition else "",
                reserved_ml=volume,
            )
        )
    container = uow.catalog.get_container(specimen.container_code)
    nominal = container.nominal_volume_ml if container else 0.0
    codes = {ot.id: ot.test_code for ot in tests}
    return SpecimenFacts(
        accession=specimen.accession,
        status=specimen.status,
        container_code=specimen.container_code,
        collected_at=specimen.collected_at,
        temperature=specimen.temperature_class,
        usable_ml=specimen.volume_ml if specimen.volume_ml else nominal,
        carried=tuple(carried),
        proven=_proven_preparation(uow, specimen.id, codes),
    )


def _proven_preparation(
    uow: UnitOfWork, specimen_id: int, codes: Mapping[int | None, str]
) -> ProvenPreparation:
    """What the met answers on the specimen prove, each by its own test's rule."""
    met = [a for a in uow.preparation.answers_for_specimen(specimen_id) if a.met]
    rules = uow.preparation.rules_for(codes.values())
    fasted = [
        hours
        for a in met
        if a.kind == PreparationKind.FASTING.value
        for hours in [_fasting_hours(rules.get(codes.get(a.ordered_test_id, "")))]
        if hours is not None
    ]
    return ProvenPreparation(
        fasted_hours=max(fasted) if fasted else None,
        first_morning_urine=any(a.kind == PreparationKind.FIRST_MORNING_URINE.value for a in met),
    )


def _fasting_hours(rule: PreparationRule | None) -> float | None:
    return rule.fasting_hours if rule is not None else None


def _rule(uow: UnitOfWork, code: str) -> PreparationRule | None:
    return uow.preparation.rules_for([code]).get(code)


def _carry_answers(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    specimen: Specimen,
    ordered_test_id: int,
    test_code: str,
) -> None:
    """Give the added test the specimen's met answers its own rule needs (sent to the lab)."""
    assert specimen.id is not None
    rule = _rule(uow, test_code)
    if rule is None:
        return
    kinds = set()
    if rule.fasting_hours is not None:
        kinds.add(PreparationKind.FASTING.value)
    if rule.first_morning_urine:
        kinds.add(PreparationKind.FIRST_MORNING_URINE.value)
    seen = set()
    for answer in uow.preparation.answers_for_specimen(specimen.id):
        if answer.met and answer.kind in kinds and answer.kind not in seen:
            seen.add(answer.kind)
            uow.preparation.add_answer(
                encounter_id=answer.encounter_id,
                ordered_test_id=ordered_test_id,
                kind=answer.kind,
                question=answer.question,
                answer=answer.answer,
                met=True,
                comment="",
                recorded_at=clock.now(),
                recorded_by_id=actor.id,
            )
    uow.preparation.flush()
    uow.preparation.link_answers({ordered_test_id: specimen.id})


def _preview(specimen: Specimen, test: TestDefinition, decision: AddOnDecision) -> AddOnPreview:
    assert specimen.id is not None
    return AddOnPreview(
        accession=specimen.accession,
        specimen_id=specimen.id,
        patient_id=specimen.patient_id,
        test_code=test.code,
        test_name=test.name,
        specimen_type=test.specimen_type,
        container_code=test.container_code,
        collected_at=specimen.collected_at,
        allowed=decision.allowed,
        reasons=decision.reasons,
        summary=decision.summary,
        left_ml=decision.left_ml,
        needed_ml=decision.needed_ml,
        stable_until=decision.stable_until,
    )


def preview_add_on(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, accession: str, test_code: str
) -> AddOnPreview:
    """Would adding ``test_code`` to the specimen ``accession`` be allowed now, and why not?

    A query (nothing is written): the dialog calls it before committing.

    Raises:
        PermissionDenied: if the actor may not enter orders.
        InvalidAccession, NotFound: an unreadable accession, no such specimen or test.
    """
    authorize(actor, Permission.MANAGE_ORDERS)
    specimen = find_specimen(uow, accession)
    test = as_drawn_in(uow, _test(uow, test_code), specimen.container_code)
    decision = decide_add_on(
        specimen_facts(uow, specimen), test, clock.now(), _rule(uow, test.code)
    )
    return _preview(specimen, test, decision)


def add_test_to_specimen(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    accession: str,
    test_code: str,
    *,
    requested_by: str,
    ordered_test_id: int | None = None,
    station_code: str = "",
) -> AddOnResult:
    """Add ``test_code`` to the specimen ``accession`` if the catalog allows it (caller commits).

    Args:
        uow: the unit of work.
        clock: the clock.
        actor: who records the add-on (a medical assistant or a clinician).
        accession: the specimen's accession ID (scanned or typed).
        test_code: the catalog test to add.
        requested_by: who asked for it (the clinician, or "lab: ..."); the ordering provider
            of a new order.
        ordered_test_id: a pending ordered test to add (default: the patient's pending order
            of the test if any, else a new order).
        station_code: for the audit entry.

    Raises:
        PermissionDenied: if the actor may not enter orders.
        InvalidAccession, NotFound: unreadable accession, no such specimen, test or ordered test.
        ValidationError: no requester, or the ordered test is cancelled, resulted, drawn
            already or another patient's.
        AddOnRefused: the catalog does not allow it (every reason listed); nothing saved.
        AddOnConflict: someone added the same test to the same specimen at the same time.
    """
    authorize(actor, Permission.MANAGE_ORDERS)
    requester = " ".join(requested_by.split())
    if len(requester) < MIN_REQUESTER:
        raise ValidationError(
            "An add-on needs the name of who asked for it.",
            hint="Type the clinician (or the lab contact) who asked for the test.",
        )
    found = find_specimen(uow, accession)
    assert found.id is not None
    # Two people adding to the same tube: the second waits here, then sees the first's test.
    specimen = uow.custody_scan.lock_specimen(found.id) or found
    test = as_drawn_in(uow, _test(uow, test_code), specimen.container_code)
    pending = _pending_test(uow, specimen, test.code, ordered_test_id)
    if pending is not None and pending.id is not None:
        # A chair collecting this pending test at the same moment: whoever locks it first
        # wins, the other re-reads it and is told it is drawn (collection locks it too).
        uow.station.lock_ordered_tests([pending.id])
        pending = _pending_test(uow, specimen, test.code, pending.id)
    decision = decide_add_on(
        specimen_facts(uow, specimen), test, clock.now(), _rule(uow, test.code)
    )
    if not decision.allowed:
        raise AddOnRefused(test.code, specimen.accession, decision.reasons)
    new_order = pending is None
    ot = pending or _new_order_test(uow, clock, specimen, test.code, requester)
    assert ot.id is not None
    assert specimen.id is not None
    target = added_on_status(specimen.status)
    next_test_status(ot.status, TestEvent.ADDED_ON)  # the state model allows it (ordered)
    since = _state_since(specimen, target)  # before the custody event below moves it
    ot.status = target
    ot.specimen_id = specimen.id
    ot.status_changed_at = since
    uow.orders.flush()
    won = uow.add_ons.reserve(
        VolumeReservation(
            ordered_test_id=ot.id,
            specimen_id=specimen.id,
            test_code=test.code,
            volume_ml=decision.needed_ml,
            reserved_at=clock.now(),
            reserved_by_id=actor.id,
            added_on=True,
            requested_by=requester,
        )
    )
    if not won:
        raise AddOnConflict(
            f"{test.code} was just added to {specimen.accession} by someone else.",
            hint="Nothing more to do: reload the specimen to see it.",
        )
    _carry_answers(uow, clock, actor, specimen, ot.id, test.code)
    site = uow.people.site(specimen.site_id)
    collected = format_local(specimen.collected_at, site.timezone if site else "UTC")
    where = f"{site.code if site else specimen.site_id} / {station_code or 'add-on'}"
    outbound_id = announce_add_on(
        uow,
        clock,
        actor,
        specimen,
        ot.id,
        note=add_on_note(test.code, specimen.accession, collected, requester),
        location=where,
    )
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="specimen",
        entity_id=specimen.id,
        actor=actor,
        station=station_code,
        detail=(
            f"add-on: {test.code} (ordered test {ot.id}, order {ot.order_id}"
            f"{', new' if new_order else ''}) added to {specimen.accession} as {target.value}; "
            f"requested by {requester}; reserves {decision.needed_ml:g} mL, "
            f"{decision.left_ml:g} mL was left"
        )[:400],
    )
    return AddOnResult(
        accession=specimen.accession,
        specimen_id=specimen.id,
        ordered_test_id=ot.id,
        order_id=ot.order_id,
        test_code=test.code,
        status=target,
        new_order=new_order,
        outbound_id=outbound_id,
    )


def _pending_test(
    uow: UnitOfWork, specimen: Specimen, code: str, ordered_test_id: int | None
) -> OrderedTest | None:
    """The ordered test to add: the one asked for, else the patient's pending one, or None."""
    if ordered_test_id is None:
        orders = uow.orders.active_for_patient(specimen.patient_id)
        tests = uow.orders.tests_for_orders([o.id for o in orders if o.id is not None])
        pending = [t for t in tests if t.test_code == code and t.status is TestStatus.ORDERED]
        return min(pending, key=lambda t: t.id or 0) if pending else None
    ot = uow.station.ordered_test(ordered_test_id)
    order = uow.orders.get(ot.order_id) if ot is not None else None
    if ot is None or order is None:
        raise NotFound(f"No ordered test {ordered_test_id}.", hint="Reload and pick it again.")
    if order.patient_id != specimen.patient_id:
        raise ValidationError(
            f"Ordered test {ordered_test_id} is another patient's.",
            hint="Scan the tube of this patient's specimen.",
        )
    if ot.test_code != code:
        raise ValidationError(f"Ordered test {ordered_test_id} is {ot.test_code}, not {code}.")
    if ot.status is TestStatus.CANCELLED or order.status is OrderStatus.CANCELLED:
        raise ValidationError(
            f"{code} was cancelled; it cannot be added on.",
            hint="Ask the clinician to order it again if it is still needed.",
        )
    if ot.status in RESULTED:
        raise ValidationError(
            f"{code} was already resulted; it cannot be added on.",
            hint="Open the result on the board.",
        )
    if ot.status is not TestStatus.ORDERED:
        raise ValidationError(
            f"{code} is already drawn ({ot.status.value.replace('_', ' ')}).",
            hint="Nothing to add: it is on its specimen already.",
        )
    return ot


def _new_order_test(
    uow: UnitOfWork, clock: Clock, specimen: Specimen, code: str, provider: str
) -> OrderedTest:
    """A new manual order of ``code`` for the specimen's patient (not committed)."""
    now = clock.now()
    serial = uow.counters.next_value(f"manual-order-{now.year}")
    order = Order(
        placer_order_number=f"LD{now.year % 100:02d}{serial:06d}",
        patient_id=specimen.patient_id,
        ordering_provider=provider[:120],
        priority=Priority.ROUTINE,
        source=OrderSource.MANUAL,
        ordered_at=now,
        created_at=now,
        requisition="add-on",
    )
    uow.orders.add(order)
    uow.orders.flush()
    assert order.id is not None
    ot = OrderedTest(order_id=order.id, test_code=code, status_changed_at=now)
    uow.orders.add_test(ot)
    uow.orders.flush()
    return ot


def _state_since(specimen: Specimen, status: TestStatus) -> datetime:
    """When the added test's state began: the original collection for a tube still at the
    clinic, else when the tube reached its current state."""
    if status is TestStatus.COLLECTED or specimen.status is SpecimenStatus.COLLECTED:
        return specimen.collected_at
    return specimen.status_changed_at or specimen.collected_at
