"""Patient preparation at the chair: the questions a plan needs, the answers, reschedule.

The compendium's rules (:mod:`labdesk.catalog.preparation`) decide what is asked; the
station asks it before the plan can be collected (:func:`plan_requirements`). At the
collection (:func:`check_collection`, called by :mod:`labdesk.station.collect`) every
question must be answered and a requirement not met needs a comment ('collect anyway');
the answers are stored on each collected test and its specimen and go to the lab as AOE
OBX segments (:mod:`labdesk.interface.preparation_aoe`). :func:`reschedule_tests` is the
other way out: nothing is drawn, the tests stay pending and the reason is what the board
shows for them.

Each question is asked once: one fasting question for the plan (its longest hours), each
test's answer then judged by its own rule; the fasting answer also fills the collection's
'fasted' flag (:func:`fasted_for`); a trough's last dose is the dose time its timed draw
asks at the collect step (:mod:`labdesk.station.series`), not a second question here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

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
    PreparationKind,
    PreparationRule,
    Requirement,
    dose_finding,
    evaluate,
    fasted,
    problems_for_collection,
    requirements,
)
from labdesk.domain.series import Anchor
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.station.encounter import encounter_of, require_identified

MIN_REASON = 3
RESCHEDULE_PREFIX = "Rescheduled"
"""How a reschedule's reason starts on the board and in the visit's missed tests."""


def plan_requirements(uow: UnitOfWork, test_codes: Iterable[str]) -> tuple[Requirement, ...]:
    """The preparation questions for a plan holding ``test_codes`` (a query).

    A last-dose question is left out for a test drawn as a dose-timed series step (a
    trough): the collect step asks its dose time once, for the schedule, and that time is
    the test's preparation answer (:func:`check_collection`).
    """
    codes = list(test_codes)
    return _asked(uow.preparation.rules_for(codes).values(), _dose_timed(uow, codes))


def _asked(rules: Iterable[PreparationRule], dose_timed: set[str]) -> tuple[Requirement, ...]:
    """The questions of ``rules``, without the last dose of a dose-timed draw."""
    return tuple(
        r
        for r in requirements(rules)
        if not (r.kind is PreparationKind.LAST_DOSE and r.test_codes[0] in dose_timed)
    )


def _dose_timed(uow: UnitOfWork, test_codes: Iterable[str]) -> set[str]:
    """The tests among ``test_codes`` that are series steps timed from a dose."""
    steps = uow.timed_draws.steps_for_tests(test_codes)
    return {code for code, step in steps.items() if step.anchor is Anchor.DOSE}


def fasted_for(
    uow: UnitOfWork, clock: Clock, test_codes: Iterable[str], answers: PreparationAnswers
) -> bool | None:
    """Whether the answers say the patient fasted as these tests need (None: not asked)."""
    return fasted(uow.preparation.rules_for(test_codes).values(), answers, clock.now())


@dataclass(frozen=True)
class CheckedPreparation:
    """What a collection's answers say, ready to be recorded after the checks."""

    findings: tuple[Finding, ...]
    """The plan's questions with their answers (one fasting question at the longest hours)."""
    comment: str
    tests: tuple[tuple[int, str], ...]
    """(ordered test id, test code) of every collected test."""
    by_test: tuple[tuple[str, tuple[Finding, ...]], ...] = ()
    """Each test's answers judged by its own rule (a glucose's 8 h, not the lipids' 12 h)."""

    def findings_for(self, test_code: str) -> tuple[Finding, ...]:
        """What is recorded and sent for a test: its answers judged by its own rule."""
        return dict(self.by_test).get(test_code, ())


def check_collection(
    uow: UnitOfWork,
    clock: Clock,
    tests: Sequence[tuple[int, str]],
    answers: PreparationAnswers,
    problems: list[str],
    doses: Mapping[int, datetime] | None = None,
) -> CheckedPreparation:
    """Check the answers for the collected ``tests``; adds what stops the collection.

    Args:
        tests: (ordered test id, test code) of the tests drawn now.
        answers: what the patient said.
        problems: the collection's list of refusals, extended here.
        doses: the dose time entered with a dose-timed draw, by ordered test id (the
            last-dose answer of a trough, asked once by the collect step).
    """
    doses = doses or {}
    codes = [code for _, code in tests]
    rules = uow.preparation.rules_for(codes)
    dose_timed = _dose_timed(uow, codes)
    needed = _asked(rules.values(), dose_timed)
    comment = " ".join(answers.comment.split())
    try:
        findings = evaluate(needed, answers, clock.now())
    except ValidationError as exc:
        problems.append(exc.message.rstrip("."))
        return CheckedPreparation((), comment, tuple(tests))
    problems.extend(problems_for_collection(findings, comment))
    dosed = _dose_findings([rules[c] for c in dose_timed if c in rules], tests, doses)
    by_test = []
    for code in dict.fromkeys(codes):
        own = (
            evaluate(_asked([rules[code]], dose_timed), answers, clock.now())
            if code in rules
            else ()
        )
        by_test.append((code, own + tuple(f for f in dosed if code in f.requirement.test_codes)))
    return CheckedPreparation(findings + dosed, comment, tuple(tests), tuple(by_test))


def _dose_findings(
    rules: Sequence[PreparationRule],
    tests: Sequence[tuple[int, str]],
    doses: Mapping[int, datetime],
) -> tuple[Finding, ...]:
    """The last-dose answers of dose-timed draws (``rules``): the dose time given with the draw.

    A dose-timed draw without its dose time is refused by the series check, which asks it.
    """
    asked = requirements(rules)
    found = []
    for requirement in asked:
        if requirement.kind is not PreparationKind.LAST_DOSE:
            continue
        code = requirement.test_codes[0]
        dose_at = next((doses[i] for i, c in tests if c == code and i in doses), None)
        if dose_at is not None:
            found.append(dose_finding(requirement, dose_at))
    return tuple(found)


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
