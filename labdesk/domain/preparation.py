"""Patient preparation: what a test needs before the draw, and whether the patient met it.

Not fasting as directed is the largest single cause of failed outpatient draws. The lab's
compendium (``resources/catalog/preparation.csv``) says per test what it needs: fasting
hours, the time of the last dose for a drug level, a first morning urine. The station asks
exactly those questions (one fasting question for the visit, one last-dose question per
drug), records the answers on the specimen and sends them to the lab. An answer that does
not meet the rule is collected anyway with a comment, or the test is rescheduled.

Pure (stdlib only); times are aware datetimes, the clock is the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from labdesk.domain.errors import ValidationError

#: A fasting or last-dose time further back than this is a typing error, not an answer.
MAX_LOOKBACK = timedelta(days=14)
#: Workstation clocks may drift a little: a time up to this far ahead is taken as now.
FUTURE_GRACE = timedelta(minutes=1)
MIN_COMMENT = 3


class PreparationKind(StrEnum):
    """What a test asks of the patient before the draw."""

    FASTING = "fasting"
    LAST_DOSE = "last_dose"
    FIRST_MORNING_URINE = "first_morning_urine"

    @property
    def label(self) -> str:
        """How the station names it."""
        return {
            PreparationKind.FASTING: "Fasting",
            PreparationKind.LAST_DOSE: "Last dose",
            PreparationKind.FIRST_MORNING_URINE: "First morning urine",
        }[self]


@dataclass(frozen=True)
class PreparationRule:
    """One row of the compendium's preparation file."""

    test_code: str
    fasting_hours: float | None = None
    """Hours without food or drink other than water; None: no fasting needed."""
    last_dose_hours: float | None = None
    """The last dose's time is needed; met when at least this many hours ago (0: record)."""
    first_morning_urine: bool = False
    question: str = ""
    """What the station asks (the compendium's words), e.g. for a drug: which one."""
    met_when: str = ""
    """What counts as met, in the lab's words (shown beside the question)."""


@dataclass(frozen=True)
class Requirement:
    """One question the station must ask before the plan can be collected."""

    kind: PreparationKind
    test_codes: tuple[str, ...]
    """Tests that ask it (fasting: every fasting test of the plan)."""
    hours: float | None
    """Fasting or last-dose hours (the longest, when several tests ask)."""
    question: str
    met_when: str

    @property
    def key(self) -> str:
        """Where its answer is found: ``fasting``, ``first_morning_urine``, ``last_dose:CODE``."""
        if self.kind is PreparationKind.LAST_DOSE:
            return f"{self.kind.value}:{self.test_codes[0]}"
        return self.kind.value


@dataclass(frozen=True)
class PreparationAnswers:
    """What the patient said at the chair."""

    last_meal_at: datetime | None = None
    """When they last ate or drank other than water."""
    last_doses: tuple[tuple[str, datetime], ...] = ()
    """(test code, time of the last dose of the drug it measures)."""
    first_morning_urine: bool | None = None
    comment: str = ""
    """Why it was collected although a requirement was not met ('collect anyway')."""

    def last_dose_for(self, test_code: str) -> datetime | None:
        """The last-dose time given for ``test_code``'s drug."""
        return next((at for code, at in self.last_doses if code == test_code), None)

    @property
    def empty(self) -> bool:
        """True when nothing was answered."""
        return (
            self.last_meal_at is None and not self.last_doses and self.first_morning_urine is None
        )


@dataclass(frozen=True)
class Finding:
    """A requirement with the answer given and whether it is met."""

    requirement: Requirement
    answered: bool
    met: bool
    answer: str
    """The answer as recorded and sent to the lab, e.g. ``last ate 7 h 59 min before``."""
    shortfall: str = ""
    """What is missing when not met, e.g. ``needs 8 h, 7 h 59 min``."""


def requirements(rules: Iterable[PreparationRule]) -> tuple[Requirement, ...]:
    """The questions for a plan's tests: one fasting (longest hours), one per drug, one urine."""
    rules = list(rules)
    found: list[Requirement] = []
    fasting = [r for r in rules if r.fasting_hours is not None]
    if fasting:
        longest = max(fasting, key=lambda r: r.fasting_hours or 0.0)
        hours = longest.fasting_hours
        found.append(
            Requirement(
                PreparationKind.FASTING,
                tuple(sorted({r.test_code for r in fasting})),
                hours,
                longest.question or "When did the patient last eat or drink anything but water?",
                longest.met_when or f"at least {_hours(hours or 0.0)} without food",
            )
        )
    for rule in sorted(
        (r for r in rules if r.last_dose_hours is not None), key=lambda r: r.test_code
    ):
        hours = rule.last_dose_hours or 0.0
        found.append(
            Requirement(
                PreparationKind.LAST_DOSE,
                (rule.test_code,),
                rule.last_dose_hours,
                rule.question or f"When was the last dose of the drug {rule.test_code} measures?",
                rule.met_when
                or (f"last dose at least {_hours(hours)} before" if hours else "time recorded"),
            )
        )
    urine = [r for r in rules if r.first_morning_urine]
    if urine:
        first = min(urine, key=lambda r: r.test_code)
        found.append(
            Requirement(
                PreparationKind.FIRST_MORNING_URINE,
                tuple(sorted({r.test_code for r in urine})),
                None,
                first.question or "Is this the first urine passed after waking?",
                first.met_when or "first urine of the morning",
            )
        )
    return tuple(found)


def check_answer_time(label: str, at: datetime, now: datetime) -> str | None:
    """Why ``at`` cannot be an answer (no time zone, in the future, weeks ago), or None."""
    if at.tzinfo is None or at.utcoffset() is None:
        return f"{label}: the time has no time zone"
    if at > now + FUTURE_GRACE:
        return f"{label}: the time is in the future; ask again and enter when it was"
    if at < now - MAX_LOOKBACK:
        return f"{label}: the time is more than {MAX_LOOKBACK.days} days ago; check the date"
    return None


def evaluate(
    needed: Sequence[Requirement], answers: PreparationAnswers, now: datetime
) -> tuple[Finding, ...]:
    """Each requirement with its answer; met when the elapsed time reaches the hours exactly.

    Raises:
        ValidationError: an answer time without zone, in the future or weeks ago.
    """
    findings = []
    problems = []
    for requirement in needed:
        finding = _finding(requirement, answers, now)
        if isinstance(finding, str):
            problems.append(finding)
        else:
            findings.append(finding)
    if problems:
        raise ValidationError(
            "; ".join(problems) + ".", hint="Correct the preparation answers and try again."
        )
    return tuple(findings)


def fasted(
    rules: Iterable[PreparationRule], answers: PreparationAnswers, now: datetime
) -> bool | None:
    """Whether the patient fasted as long as the tests of ``rules`` need.

    None when none of them asks fasting, the question was not answered, or the answer is
    not a usable time (:func:`evaluate` says why at the collection).
    """
    needed = [r for r in requirements(rules) if r.kind is PreparationKind.FASTING]
    if not needed or answers.last_meal_at is None:
        return None
    try:
        (finding,) = evaluate(needed, answers, now)
    except ValidationError:
        return None
    return finding.met


def dose_finding(requirement: Requirement, dose_at: datetime) -> Finding:
    """A last-dose requirement answered by the dose time a timed draw is based on.

    A trough is scheduled from a dose entered with the draw (the series' question); the
    lab gets that time as the preparation answer instead of a second question at the chair.
    """
    answer = f"dose the timed draw is based on: {dose_at.isoformat(timespec='minutes')}"
    return Finding(requirement, True, True, answer)


def unanswered(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Findings whose question was not answered."""
    return tuple(f for f in findings if not f.answered)


def not_met(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Answered findings that do not meet their rule."""
    return tuple(f for f in findings if f.answered and not f.met)


def problems_for_collection(findings: Sequence[Finding], comment: str) -> list[str]:
    """Why a collection with these answers cannot be recorded (empty: it can).

    Every question must be answered; a requirement not met needs the 'collect anyway'
    comment (or the test is rescheduled instead).
    """
    problems = [
        f"answer the preparation question '{f.requirement.question}' "
        f"({', '.join(f.requirement.test_codes)})"
        for f in unanswered(findings)
    ]
    missed = not_met(findings)
    if missed and len(" ".join(comment.split())) < MIN_COMMENT:
        what = "; ".join(f"{f.requirement.kind.label} {f.shortfall}" for f in missed)
        problems.append(
            f"preparation not met ({what}): give a comment to collect anyway, or reschedule"
        )
    return problems


def _finding(requirement: Requirement, answers: PreparationAnswers, now: datetime) -> Finding | str:
    kind = requirement.kind
    if kind is PreparationKind.FIRST_MORNING_URINE:
        value = answers.first_morning_urine
        if value is None:
            return Finding(requirement, False, False, "")
        answer = "first morning urine" if value else "not first morning urine"
        return Finding(requirement, True, value, answer, "" if value else "(not first void)")
    if kind is PreparationKind.FASTING:
        at = answers.last_meal_at
        label = "last meal"
    else:
        at = answers.last_dose_for(requirement.test_codes[0])
        label = f"last dose ({requirement.test_codes[0]})"
    if at is None:
        return Finding(requirement, False, False, "")
    problem = check_answer_time(label, at, now)
    if problem is not None:
        return problem
    elapsed = max(now - at, timedelta(0))
    needed = timedelta(hours=requirement.hours or 0.0)
    met = elapsed >= needed
    what = "last ate" if kind is PreparationKind.FASTING else "last dose"
    answer = f"{what} {at.isoformat(timespec='minutes')} ({_duration(elapsed)} before)"
    shortfall = "" if met else f"(needs {_hours(requirement.hours or 0.0)}, {_duration(elapsed)})"
    return Finding(requirement, True, met, answer, shortfall)


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _hours(hours: float) -> str:
    return f"{hours:g} h"
