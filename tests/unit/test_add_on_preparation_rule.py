"""The add-on's preparation rule: what the answers on a tube prove (pure, milliseconds)."""

from __future__ import annotations

import pytest

from labdesk.domain.add_on import ProvenPreparation, preparation_reasons
from labdesk.domain.preparation import PreparationRule


@pytest.mark.parametrize(
    ("proven", "allowed"),
    [(None, False), (9.5, False), (10.0, True), (12.0, True)],
)
def test_fasting_is_proven_by_a_met_fast_at_least_as_long(
    proven: float | None, allowed: bool
) -> None:
    reasons = preparation_reasons(
        "BMP", PreparationRule("BMP", fasting_hours=10), ProvenPreparation(fasted_hours=proven)
    )
    assert (reasons == []) is allowed


def test_first_morning_urine_needs_a_met_first_morning_answer() -> None:
    rule = PreparationRule("UACR", first_morning_urine=True)
    assert preparation_reasons("UACR", rule, ProvenPreparation(first_morning_urine=True)) == []
    assert preparation_reasons("UACR", rule, ProvenPreparation()) == [
        "UACR needs a first morning urine; this one was not confirmed as one"
    ]


def test_a_drug_level_is_never_added_its_last_dose_was_not_asked() -> None:
    rule = PreparationRule("VANC", last_dose_hours=0)
    proven = ProvenPreparation(fasted_hours=12, first_morning_urine=True)
    assert preparation_reasons("VANC", rule, proven) == [
        "VANC needs the last dose's time, which was not asked at the draw"
    ]


def test_a_test_without_a_rule_needs_nothing() -> None:
    assert preparation_reasons("CMP", None, ProvenPreparation()) == []
