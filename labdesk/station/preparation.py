"""Patient preparation at the chair: the questions a plan needs, the answers, reschedule.

The compendium's rules (:mod:`labdesk.catalog.preparation`) decide what is asked; the
station asks it before the plan can be collected (:func:`plan_requirements`). At the
collection (:func:`check_collection`, called by :mod:`labdesk.station.collect`) every
question must be answered and a requirement not met needs a comment ('collect anyway');
the answers are stored on each collected test and its specimen and go to the lab as AOE
OBX segments (:mod:`labdesk.interface.preparation_aoe`). :func:`reschedule_tests` is the
other way out: nothing is drawn, the tests stay pending and the reason is what the board
shows for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.encounter import MissedCollection
from labdesk.domain.errors import ValidationError
from labdesk.domain.lifecycle import TestEvent, allows
from labdesk.domain.order import OrderStatus
from labdesk.domain.permissions import Permission
from labdesk.domain.preparation import (
    Finding,
    PreparationAnswers,
    Requirement,
    evaluate,
    problems_for_collection,
    requirements,
)
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.station.encounter import encounter_of, require_identified

MIN_REASON = 3
RESCHEDULE_PREFIX = "Rescheduled"
"""How a reschedule's reason starts on the board and in the visit's missed tests."""


def plan_requirements(uow: UnitOfWork, test_codes: Iterable[str]) -> tuple[Requirement, ...]:
    """The preparation questions for a plan holding ``test_codes`` (a query)."""
    return requirements(uow.preparation.rules_for(test_codes).values())


@dataclass(frozen=True)
class CheckedPreparation:
    """What a collection's answers say, ready to be recorded after the checks."""

    findings: tuple[Finding, ...]
    comment: str
    tests: tuple[tuple[int, str], ...]
    """(ordered test id, test code) of every collected test."""

    def findings_for(self, test_code: str) -> tuple[Finding, ...]:
        """The findings whose requirement a test asks."""
        return tuple(f for f in self.findings if test_code in f.requirement.test_codes)


def check_collection(
    uow: UnitOfWork,
    clock: Clock,
    tests: Sequence[tuple[int, str]],
    answers: PreparationAnswers,
    problems: list[str],
) -> CheckedPreparation:
    """Check the answers for the collected ``tests``; adds what stops the collection.

    Args:
        tests: (ordered test id, test code) of the tests drawn now.
        answers: what the patient said.
        problems: the collection's list of refusals, extended here.
    """
    needed = plan_requirements(uow, (code for _, code in tests))
    comment = " ".join(answers.comment.split())
    try:
        findings = evaluate(needed, answers, clock.now())
    except ValidationError as exc:
        problems.append(exc.message.rstrip("."))
        return CheckedPreparation((), comment, tuple(tests))
    problems.extend(problems_for_collection(findings, comment))
    return CheckedPreparation(findings, comment, tuple(tests))


def record_answers(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter_id: int,
    checked: CheckedPreparation,
) -> int:
    """Store each collected test's answers (before the specimens are written); rows stored."""
    now = clock.now()
    count = 0
    for test_id, code in checked.tests:
        for finding in checked.findings_for(code):
            uow.preparation.add_answer(
                encounter_id=encounter_id,
                ordered_test_id=test_id,
                kind=finding.requirement.kind.value,
                question=finding.requirement.question,
                answer=finding.answer,
                met=finding.met,
                comment="" if finding.met else checked.comment,
                recorded_at=now,
                recorded_by_id=actor.id,
            )
            count += 1
    uow.preparation.flush()
    return count


def link_answers(uow: UnitOfWork, specimen_by_test: Mapping[int, int]) -> None:
    """Put the stored answers on the specimens that now carry their tests."""
    uow.preparation.link_answers(specimen_by_test)


def reschedule_tests(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter_id: int,
    ordered_test_ids: Sequence[int],
    reason: str,
) -> int:
    """Draw nothing for these tests now: they stay pending with the reason (commits).

    The reason ("not fasting: last ate 07:10") is recorded as the visit's 'not collected'
    for each test and is what the clinician board shows for it.

    Returns:
        The number of tests rescheduled.

    Raises:
        PermissionDenied: the actor may not collect specimens.
        ValidationError: no reason, no test, or a test that is not pending for this patient.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = encounter_of(uow, encounter_id)
    require_identified(encounter)
    assert encounter.id is not None
    text = " ".join(reason.split())
    problems = []
    if len(text) < MIN_REASON:
        problems.append("say why the tests are rescheduled (e.g. 'not fasting')")
    if not ordered_test_ids:
        problems.append("pick the tests to reschedule")
    codes = []
    for test_id in dict.fromkeys(ordered_test_ids):
        ot = uow.station.ordered_test(test_id)
        order = uow.orders.get(ot.order_id) if ot is not None else None
        if ot is None or order is None or order.patient_id != encounter.patient_id:
            problems.append(f"test {test_id} is not ordered for this patient")
        elif order.status is OrderStatus.CANCELLED or not allows(ot.status, TestEvent.COLLECTED):
            problems.append(f"{ot.test_code} is not waiting to be collected")
        else:
            codes.append(ot.test_code)
    if problems:
        raise ValidationError(
            "Nothing was rescheduled: " + "; ".join(problems) + ".",
            hint="Correct this and reschedule again.",
        )
    note = f"{RESCHEDULE_PREFIX}: {text}"[:200]
    now = clock.now()
    for test_id in dict.fromkeys(ordered_test_ids):
        uow.station.add(
            MissedCollection(
                encounter_id=encounter.id,
                ordered_test_id=test_id,
                reason=note,
                recorded_at=now,
                recorded_by_id=actor.id,
            )
        )
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="encounter",
        entity_id=encounter.id,
        actor=actor,
        station=encounter.station_code,
        detail=f"rescheduled {', '.join(codes)}: {text}"[:400],
    )
    uow.commit()
    return len(codes)
