"""Patient preparation rules with fixed clocks: fasting-hours edges, last doses, first urine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import ValidationError
from labdesk.domain.preparation import (
    PreparationAnswers,
    PreparationKind,
    PreparationRule,
    dose_finding,
    evaluate,
    fasted,
    problems_for_collection,
    requirements,
)

CLOCK = FixedClock(datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
NOW = CLOCK.now()
GLUF = PreparationRule("GLUF", fasting_hours=8, question="Last ate?", met_when="8 h fast")
LIPID = PreparationRule("LIPID", fasting_hours=12)
VANCO = PreparationRule("VANCOT", last_dose_hours=0, question="Last vancomycin dose?")
DIGOX = PreparationRule("DIGOX", last_dose_hours=6)
UACUL = PreparationRule("UACUL", first_morning_urine=True)


def _fasting(rules: list[PreparationRule], ago: timedelta) -> tuple[bool, str]:
    (finding,) = evaluate(requirements(rules), PreparationAnswers(last_meal_at=NOW - ago), NOW)
    return finding.met, finding.shortfall


def test_eight_hours_of_fasting_is_met_seven_59_is_not() -> None:
    assert _fasting([GLUF], timedelta(hours=8)) == (True, "")
    met, shortfall = _fasting([GLUF], timedelta(hours=7, minutes=59))
    assert not met
    assert shortfall == "(needs 8 h, 7 h 59 min)"
    assert _fasting([GLUF], timedelta(hours=8, seconds=1))[0]
    assert not _fasting([GLUF], timedelta(hours=7, minutes=59, seconds=59))[0]


def test_one_fasting_question_for_the_plan_with_the_longest_hours() -> None:
    (needed,) = requirements([GLUF, LIPID])
    assert needed.kind is PreparationKind.FASTING
    assert needed.test_codes == ("GLUF", "LIPID")
    assert needed.hours == 12
    assert not _fasting([GLUF, LIPID], timedelta(hours=11, minutes=59))[0]
    assert _fasting([GLUF, LIPID], timedelta(hours=12))[0]


def test_fasting_across_a_zone_offset_counts_real_hours() -> None:
    # The patient answers in local time (UTC-5); 03:00 local is 08:00 UTC, 5 h before 13:00.
    local = timezone(timedelta(hours=-5))
    answers = PreparationAnswers(last_meal_at=datetime(2026, 3, 9, 3, 0, tzinfo=local))
    now = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    (finding,) = evaluate(requirements([GLUF]), answers, now)
    assert finding.met  # 8 h exactly


def test_each_drug_level_asks_its_own_last_dose() -> None:
    needed = requirements([VANCO, DIGOX])
    assert [r.key for r in needed] == ["last_dose:DIGOX", "last_dose:VANCOT"]
    answers = PreparationAnswers(
        last_doses=(
            ("DIGOX", NOW - timedelta(hours=5, minutes=59)),
            ("VANCOT", NOW - timedelta(minutes=30)),
        )
    )
    digox, vanco = evaluate(needed, answers, NOW)
    assert not digox.met
    assert digox.shortfall == "(needs 6 h, 5 h 59 min)"
    assert vanco.met  # 0 h: the time is recorded
    assert "last dose" in vanco.answer
    answers = PreparationAnswers(last_doses=(("DIGOX", NOW - timedelta(hours=6)),))
    digox, vanco = evaluate(needed, answers, NOW)
    assert digox.met
    assert not vanco.answered


def test_first_morning_urine_yes_no_and_unanswered() -> None:
    needed = requirements([UACUL])
    (yes,) = evaluate(needed, PreparationAnswers(first_morning_urine=True), NOW)
    (no,) = evaluate(needed, PreparationAnswers(first_morning_urine=False), NOW)
    (blank,) = evaluate(needed, PreparationAnswers(), NOW)
    assert yes.met
    assert yes.answered
    assert no.answered
    assert not no.met
    assert not blank.answered


def test_collection_needs_every_answer_and_a_comment_when_not_met() -> None:
    needed = requirements([GLUF, UACUL])
    partial = evaluate(needed, PreparationAnswers(first_morning_urine=True), NOW)
    (problem,) = problems_for_collection(partial, "")
    assert "Last ate?" in problem
    short = PreparationAnswers(last_meal_at=NOW - timedelta(hours=2), first_morning_urine=True)
    findings = evaluate(needed, short, NOW)
    (problem,) = problems_for_collection(findings, "  ")
    assert "collect anyway" in problem
    assert "reschedule" in problem
    assert "needs 8 h, 2 h 00 min" in problem
    assert problems_for_collection(findings, "ordered STAT by Dr. Patel") == []


def test_impossible_answer_times_are_refused() -> None:
    needed = requirements([GLUF])
    with pytest.raises(ValidationError, match="in the future"):
        evaluate(needed, PreparationAnswers(last_meal_at=NOW + timedelta(minutes=5)), NOW)
    with pytest.raises(ValidationError, match="more than 14 days"):
        evaluate(needed, PreparationAnswers(last_meal_at=NOW - timedelta(days=15)), NOW)
    with pytest.raises(ValidationError, match="no time zone"):
        evaluate(needed, PreparationAnswers(last_meal_at=datetime(2026, 3, 9, 1, 0)), NOW)  # noqa: DTZ001
    # one minute of clock drift between workstations is accepted as now
    (finding,) = evaluate(
        requirements([VANCO]),
        PreparationAnswers(last_doses=(("VANCOT", NOW + timedelta(seconds=50)),)),
        NOW,
    )
    assert finding.met


def test_no_rules_ask_nothing() -> None:
    assert requirements([]) == ()
    assert evaluate((), PreparationAnswers(), NOW) == ()


def test_each_tube_is_fasted_by_its_own_tests_hours() -> None:
    ten_hours = PreparationAnswers(last_meal_at=NOW - timedelta(hours=10))
    assert fasted([GLUF], ten_hours, NOW) is True
    assert fasted([LIPID], ten_hours, NOW) is False
    assert fasted([LIPID], PreparationAnswers(last_meal_at=NOW - timedelta(hours=12)), NOW)
    assert fasted([LIPID, UACUL], ten_hours, NOW) is False
    assert fasted([UACUL, VANCO], ten_hours, NOW) is None  # no fasting asked
    assert fasted([LIPID], PreparationAnswers(), NOW) is None  # not answered
    future = PreparationAnswers(last_meal_at=NOW + timedelta(hours=1))
    assert fasted([LIPID], future, NOW) is None  # evaluate() refuses it at the collection


def test_a_dose_timed_draw_answers_the_last_dose_with_its_dose_time() -> None:
    (needed,) = requirements([VANCO])
    dose = datetime(2026, 3, 9, 8, 30, tzinfo=UTC)
    finding = dose_finding(needed, dose)
    assert finding.answered
    assert finding.met
    assert finding.answer == "dose the timed draw is based on: 2026-03-09T08:30+00:00"
    assert problems_for_collection([finding], "") == []
