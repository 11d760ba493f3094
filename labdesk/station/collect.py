"""Recording a collection at the chair: one transaction for every container, or nothing.

For each collected container: an accession ID, a Specimen, its ordered tests linked and
moved by the state model (:mod:`labdesk.domain.lifecycle`: ``collected`` for a first draw,
``recollected`` for a test the lab rejected or lost), a COLLECTED custody event, the
collection details (and the forensic form). Containers not collected leave their tests
pending, with the reason recorded. A recollection (``recollection_task_id``) links each new
specimen to the one it replaces and closes its task in the same transaction. Every check
runs before the first write, so a refusal saves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from labdesk.custody.events import Handoff, record_event
from labdesk.domain.audit import AuditAction
from labdesk.domain.catalog import ContainerType, Handling, SpecimenCategory, TestDefinition
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.draw_plan import group_key, may_share
from labdesk.domain.encounter import (
    CollectionDetail,
    CollectionMethod,
    Encounter,
    ForensicRecord,
    MissedCollection,
)
from labdesk.domain.errors import ValidationError
from labdesk.domain.forensic import ForensicCheck, check_forensic, custody_note, normalise_ccf
from labdesk.domain.lifecycle import NEEDS_RECOLLECTION, TestEvent, allows, next_test_status
from labdesk.domain.order import OrderedTest, OrderStatus, TestStatus
from labdesk.domain.permissions import Permission
from labdesk.domain.recollection import RecollectionStatus, RecollectionTask
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.interface.outbound import queue_collection_message
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.station.accession import issue_accession
from labdesk.station.at_chair import AtChair, Drawn, record_after, record_before, resolve_people
from labdesk.station.at_chair import check as check_at_chair
from labdesk.station.blood_volume import pediatric_allowed
from labdesk.station.dto import CollectResult, ContainerCollection
from labdesk.station.encounter import encounter_of, require_identified
from labdesk.station.orders import asks_fasted_flag
from labdesk.station.recollection import (
    close_if_recollected,
    recollection_note,
    require_for_encounter,
    task_of,
    tests_to_recollect,
)
from labdesk.station.series import TimedDrawCheck, check_timed_draws, record_timed_draws
from labdesk.station.view import specimen_row
from labdesk.station.volume import reserve_drawn

#: Collection times older than this need a reason (the MA records right after the draw).
BACKDATE_GRACE = timedelta(minutes=10)
#: No collection is recorded more than this long after it happened.
MAX_BACKDATE = timedelta(hours=24)
#: Clock drift between workstations tolerated for times slightly in the future.
FUTURE_GRACE = timedelta(minutes=1)
MIN_REASON = 3


class CollectionRefused(ValidationError):
    """A collection that cannot be saved; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(
            "Nothing was saved: " + "; ".join(problems) + ".",
            hint="Correct these and record the collection again.",
        )
        self.problems = tuple(problems)


@dataclass
class _Checked:
    """One container's request after validation, with what writing it needs."""

    request: ContainerCollection
    container: ContainerType
    tests: list[OrderedTest]
    definitions: list[TestDefinition]
    collected_at: datetime
    collector_id: int
    forensic: ForensicCheck | None = None
    redrawn: frozenset[int] = frozenset()
    """Ids of the tests drawn again for the recollection (the others are first draws)."""


@dataclass(frozen=True)
class _Recollection:
    """The recollection a collection draws: its task, the tube it replaces, its tests."""

    task: RecollectionTask
    old: Specimen
    test_ids: frozenset[int]


def collect(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter_id: int,
    containers: Sequence[ContainerCollection],
    *,
    recollection_task_id: int | None = None,
    at_chair: AtChair | None = None,
) -> CollectResult:
    """Record the collection of ``containers`` for the encounter's patient and commit.

    Args:
        uow: the unit of work.
        clock: the clock.
        actor: the signed-in user.
        encounter_id: the visit (identified).
        containers: what was drawn (or not) for each planned container.
        recollection_task_id: the visit draws this recollection: its rejected or lost tests
            may be drawn again, and the task is closed once none is left.
        at_chair: preparation answers, a prioritisation over the blood-volume limit, the
            collector's and observer's badges (:mod:`labdesk.station.at_chair`).

    Raises:
        PermissionDenied: if the actor may not collect specimens.
        ValidationError: the patient's identifiers are not confirmed, the visit is closed,
            or the recollection is another patient's or already closed.
        NotFound: no such recollection task.
        CollectionRefused: listing every problem (cancelled or already collected tests,
            missing reasons, an incomplete forensic form…); nothing is saved.
    """
    result = record_collection(
        uow,
        clock,
        actor,
        encounter_id,
        containers,
        recollection_task_id=recollection_task_id,
        at_chair=at_chair,
    )
    uow.commit()
    return result


def record_collection(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter_id: int,
    containers: Sequence[ContainerCollection],
    *,
    recollection_task_id: int | None = None,
    at_chair: AtChair | None = None,
) -> CollectResult:
    """:func:`collect` without the commit (the caller commits or rolls back)."""
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = encounter_of(uow, encounter_id)
    require_identified(encounter)
    recollection = None
    if recollection_task_id is not None:
        recollection = _recollection(uow, encounter, recollection_task_id)
    if not containers:
        raise CollectionRefused(["no container was recorded"])
    uow.station.lock_ordered_tests([t for c in containers for t in c.ordered_test_ids])
    problems: list[str] = []
    chair_input = at_chair or AtChair()
    people, containers = resolve_people(uow, clock, chair_input, containers, problems)
    redraw = recollection.test_ids if recollection else frozenset()
    checked = _check_all(uow, clock, actor, encounter, containers, redraw, problems)
    timed = check_timed_draws(uow, clock, encounter, containers, problems)
    drawn = [_drawn(c) for c in checked if c.request.collected]
    chair = check_at_chair(uow, clock, encounter.patient_id, chair_input, people, drawn, problems)
    if problems:
        raise CollectionRefused(problems)
    assert encounter.id is not None
    record_before(uow, clock, actor, encounter.id, chair)
    result = _write(uow, clock, actor, encounter, checked, recollection, timed)
    record_after(uow, clock, actor, encounter.id, chair, result)
    return result


def _drawn(item: _Checked) -> Drawn:
    """A checked container as the chair's rules see it."""
    tests = tuple((t.id, t.test_code) for t in item.tests if t.id is not None)
    forensic = item.forensic is not None
    return Drawn(item.container, item.request.volume_ml, tests, forensic, item.request.dose_at)


def _recollection(uow: UnitOfWork, encounter: Encounter, task_id: int) -> _Recollection:
    """The open task of this patient, its old specimen locked (one recollection at a time)."""
    task = task_of(uow, task_id)
    require_for_encounter(task, encounter)
    # Two chairs drawing the same recollection: the second waits here, then finds the
    # tests already recollected (they moved to the first one's specimen).
    old = uow.custody_scan.lock_specimen(task.specimen_id)
    assert old is not None
    if task.status is not RecollectionStatus.OPEN:
        raise ValidationError(
            f"The recollection of {old.accession} was already {task.status.value}.",
            hint="Refresh the worklist (F5); open the patient as a normal visit if needed.",
        )
    ids = frozenset(t.id for t in tests_to_recollect(uow, task) if t.id is not None)
    return _Recollection(task, old, ids)


def _check_all(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter: Encounter,
    containers: Sequence[ContainerCollection],
    redraw: frozenset[int],
    problems: list[str],
) -> list[_Checked]:
    seen: set[int] = set()
    checked = []
    for number, request in enumerate(containers, start=1):
        where = f"container {number} ({request.container_code})"
        duplicates = seen.intersection(request.ordered_test_ids)
        if duplicates:
            problems.append(f"{where}: a test is listed in two containers")
        seen.update(request.ordered_test_ids)
        item = _check_one(uow, clock, actor, encounter, request, where, redraw, problems)
        if item is not None:
            checked.append(item)
    return checked


def _check_one(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter: Encounter,
    request: ContainerCollection,
    where: str,
    redraw: frozenset[int],
    problems: list[str],
) -> _Checked | None:
    container = uow.catalog.get_container(request.container_code)
    if container is None:
        problems.append(f"{where}: unknown container type")
        return None
    if not request.ordered_test_ids:
        problems.append(f"{where}: carries no test")
        return None
    tests, definitions = _check_tests(uow, encounter, request, where, redraw, problems)
    redrawn = frozenset(t.id for t in tests if t.id in redraw)
    if not request.collected:
        if len(" ".join(request.not_collected_reason.split())) < MIN_REASON:
            problems.append(f"{where}: say why it was not collected")
        return _Checked(
            request, container, tests, definitions, clock.now(), actor.id, redrawn=redrawn
        )
    collected_at = _check_time(clock, request, where, problems)
    collector_id = request.collector_id or actor.id
    collector = uow.people.user(collector_id)
    if collector is None or not collector.active:
        problems.append(f"{where}: the collector is not an active user")
    if request.volume_ml is not None and not 0 < request.volume_ml <= 2 * (
        container.nominal_volume_ml
    ):
        problems.append(f"{where}: volume {request.volume_ml:g} mL is not plausible")
    handling = {h for d in definitions for h in d.handling_flags}
    if request.fasting is None and asks_fasted_flag(uow, definitions):
        problems.append(f"{where}: record whether the patient fasted")
    forensic = None
    if Handling.CHAIN_OF_CUSTODY in handling:
        forensic = _check_forensic(request, where, problems)
    elif container.category is SpecimenCategory.URINE and request.urine_method is None:
        problems.append(f"{where}: choose the urine collection type (clean catch, catheter…)")
    return _Checked(
        request, container, tests, definitions, collected_at, collector_id, forensic, redrawn
    )


def _check_tests(
    uow: UnitOfWork,
    encounter: Encounter,
    request: ContainerCollection,
    where: str,
    redraw: frozenset[int],
    problems: list[str],
) -> tuple[list[OrderedTest], list[TestDefinition]]:
    tests: list[OrderedTest] = []
    definitions: list[TestDefinition] = []
    for test_id in request.ordered_test_ids:
        ot = uow.station.ordered_test(test_id)
        order = uow.orders.get(ot.order_id) if ot is not None else None
        if ot is None or order is None or order.patient_id != encounter.patient_id:
            problems.append(f"{where}: test {test_id} is not ordered for this patient")
            continue
        if ot.status is TestStatus.CANCELLED or order.status is OrderStatus.CANCELLED:
            problems.append(f"{where}: {ot.test_code} was cancelled; refresh the orders")
            continue
        event = TestEvent.RECOLLECTED if test_id in redraw else TestEvent.COLLECTED
        if not allows(ot.status, event):
            if ot.status in NEEDS_RECOLLECTION:
                what = "rejected by the lab" if ot.status is TestStatus.REJECTED else "lost"
                problems.append(
                    f"{where}: {ot.test_code} was {what}; draw it again from its task "
                    "under 'To recollect'"
                )
            else:
                problems.append(f"{where}: {ot.test_code} was already collected")
            continue
        definition = uow.catalog.get_test(ot.test_code)
        if definition is None or (
            definition.container_code != request.container_code
            and not pediatric_allowed(uow, ot.test_code, request.container_code)
        ):
            problems.append(f"{where}: {ot.test_code} does not go in this container")
            continue
        tests.append(ot)
        definitions.append(definition)
    if definitions and not may_share(definitions):
        problems.append(f"{where}: these tests need separate containers")
    return tests, definitions


def _check_time(
    clock: Clock, request: ContainerCollection, where: str, problems: list[str]
) -> datetime:
    now = clock.now()
    at = request.collected_at or now
    if at.tzinfo is None:
        problems.append(f"{where}: the collection time has no time zone")
        return now
    if at > now + FUTURE_GRACE:
        problems.append(f"{where}: the collection time is in the future")
    elif at < now - MAX_BACKDATE:
        problems.append(f"{where}: the collection time is more than a day ago")
    elif at < now - BACKDATE_GRACE and len(request.backdate_reason.strip()) < MIN_REASON:
        problems.append(f"{where}: a collection time in the past needs a reason")
    return at


def _check_forensic(
    request: ContainerCollection, where: str, problems: list[str]
) -> ForensicCheck | None:
    if request.forensic is None:
        problems.append(f"{where}: fill in the custody and control form")
        return None
    result = check_forensic(request.forensic)
    problems.extend(f"{where}: missing {item}" for item in result.missing)
    return result


def _write(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter: Encounter,
    checked: list[_Checked],
    recollection: _Recollection | None,
    timed: TimedDrawCheck | None = None,
) -> CollectResult:
    assert encounter.id is not None
    site = uow.people.site(encounter.site_id)
    location = f"{site.code if site else encounter.site_id} / {encounter.station_code}"
    created: list[Specimen] = []
    missed: list[int] = []
    recollect: list[int] = []
    now = clock.now()
    for item in checked:
        if not item.request.collected:
            for ot in item.tests:
                assert ot.id is not None
                uow.station.add(
                    MissedCollection(
                        encounter_id=encounter.id,
                        ordered_test_id=ot.id,
                        reason=" ".join(item.request.not_collected_reason.split())[:200],
                        recorded_at=now,
                        recorded_by_id=actor.id,
                    )
                )
                missed.append(ot.id)
            continue
        replaces = recollection if item.redrawn else None
        specimen = _write_specimen(uow, clock, encounter, item, location, replaces)
        created.append(specimen)
        if item.forensic is not None and item.forensic.needs_observed_recollection:
            assert specimen.id is not None
            recollect.append(specimen.id)
    uow.station.flush()
    closed = ""
    if recollection is not None:
        drawn = [s for s in created if s.recollection_of_id == recollection.old.id]
        _mark_recollected(uow, clock, actor, recollection.old, drawn, location)
        if close_if_recollected(
            uow, clock, actor, recollection.task, drawn, station_code=encounter.station_code
        ):
            closed = f"; recollection task {recollection.task.id} done"
    if timed is not None:  # before the lab's message: it carries time points and reasons
        record_timed_draws(uow, clock, actor, timed)
    if created:
        # The lab hears of the collection in the same transaction (an outbox).
        queue_collection_message(uow, clock, [s.id for s in created if s.id], user_id=actor.id)
    record_audit(
        uow,
        clock,
        action=AuditAction.CREATE,
        entity="encounter",
        entity_id=encounter.id,
        actor=actor,
        station=encounter.station_code,
        detail=f"collected specimens {[s.id for s in created]}; not collected tests {missed}"
        + closed,
    )
    forensic = {f.specimen_id: f for f in uow.station.forensic(encounter.id)}
    rows = tuple(specimen_row(uow, s, forensic) for s in created)
    return CollectResult(encounter.id, rows, tuple(missed), tuple(recollect))


def _mark_recollected(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    old: Specimen,
    drawn: Sequence[Specimen],
    location: str,
) -> None:
    """Mark the replaced specimen 'recollected by ACCESSION' on its own timeline."""
    if drawn:
        note = "recollected by " + ", ".join(s.accession for s in drawn)
        handoff = Handoff(actor_id=actor.id, location=location, note=note)
        record_event(uow, clock, old, CustodyEventKind.RECOLLECTED, handoff)


def announce_add_on(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    specimen: Specimen,
    ordered_test_id: int,
    *,
    note: str,
    location: str,
) -> int:
    """The custody event and the lab's OML^O21 of a test added to a drawn specimen.

    Called by :func:`labdesk.station.add_on.add_test_to_specimen` in its transaction (this
    module is the station's one door to custody events and the outbound queue). Returns
    the outbound message's id.
    """
    assert specimen.id is not None
    handoff = Handoff(actor_id=actor.id, location=location, note=note)
    record_event(uow, clock, specimen, CustodyEventKind.ADDED_ON, handoff)
    return queue_collection_message(
        uow, clock, [specimen.id], user_id=actor.id, only_tests=[ordered_test_id], note=note
    )


def _write_specimen(
    uow: UnitOfWork,
    clock: Clock,
    encounter: Encounter,
    item: _Checked,
    location: str,
    replaces: _Recollection | None,
) -> Specimen:
    assert encounter.id is not None
    request = item.request
    temperature = group_key(item.definitions[0]).temperature
    specimen = Specimen(
        accession=issue_accession(uow, clock),
        patient_id=encounter.patient_id,
        container_code=item.container.code,
        site_id=encounter.site_id,
        status=SpecimenStatus.COLLECTED,
        collected_at=item.collected_at,
        collected_by_id=item.collector_id,
        created_at=clock.now(),
        temperature_class=temperature,
        volume_ml=request.volume_ml,
        collection_note=" ".join(request.backdate_reason.split())[:400],
        recollection_of_id=replaces.old.id if replaces else None,
    )
    uow.specimens.add(specimen)
    uow.specimens.flush()
    assert specimen.id is not None
    for ot in item.tests:
        event = TestEvent.RECOLLECTED if ot.id in item.redrawn else TestEvent.COLLECTED
        ot.status = next_test_status(ot.status, event)
        ot.specimen_id = specimen.id
        ot.status_changed_at = item.collected_at
    reserve_drawn(
        uow, specimen.id, item.tests, item.definitions, at=clock.now(), by_id=item.collector_id
    )
    notes = []
    if replaces is not None:
        notes.append(recollection_note(replaces.old, replaces.task))
    if item.forensic is not None and request.forensic is not None:
        notes.append(custody_note(request.forensic, item.forensic))
    note = "; ".join(notes)
    record_event(
        uow,
        clock,
        specimen,
        CustodyEventKind.COLLECTED,
        Handoff(
            actor_id=item.collector_id,
            location=location,
            occurred_at=item.collected_at,
            temperature_class=temperature,
            reason=" ".join(request.backdate_reason.split())[:200],
            note=note,
        ),
    )
    uow.station.add(
        CollectionDetail(
            specimen_id=specimen.id,
            encounter_id=encounter.id,
            method=_method(item),
            fasting=request.fasting,
            backdate_reason=" ".join(request.backdate_reason.split())[:200],
        )
    )
    if item.forensic is not None and request.forensic is not None:
        uow.station.add(_forensic_record(specimen.id, encounter.id, request, item.forensic))
    return specimen


def _method(item: _Checked) -> CollectionMethod:
    if item.forensic is not None:
        return CollectionMethod.FORENSIC
    if item.request.urine_method is not None:
        return CollectionMethod(item.request.urine_method.value)
    return CollectionMethod.VENIPUNCTURE


def _forensic_record(
    specimen_id: int, encounter_id: int, request: ContainerCollection, check: ForensicCheck
) -> ForensicRecord:
    form = request.forensic
    assert form is not None
    assert form.temperature_c is not None
    assert form.minutes_to_temperature_read is not None
    assert form.bottle_a_ml is not None
    assert form.bottle_b_ml is not None
    return ForensicRecord(
        specimen_id=specimen_id,
        encounter_id=encounter_id,
        ccf_number=normalise_ccf(form.ccf_number),
        temperature_c=form.temperature_c,
        minutes_to_temperature_read=form.minutes_to_temperature_read,
        temperature_in_range=bool(check.temperature_in_range),
        bottle_a_ml=form.bottle_a_ml,
        bottle_b_ml=form.bottle_b_ml,
        bottles_sealed_and_dated=form.bottles_sealed_and_dated,
        donor_initialled_seals=form.donor_initialled_seals,
        donor_id_checked=form.donor_id_checked,
        observed=form.observed,
        remarks=" ".join(form.remarks.split())[:400],
    )
