"""The one retry schedule both persisted queues use (pure: no database, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labdesk.domain.retry import RetryPolicy
from labdesk.interface.outbound import HL7_RETRY
from labdesk.printing.spooler import PRINT_RETRY

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_delay_doubles_from_base_up_to_the_cap() -> None:
    policy = RetryPolicy(base=timedelta(seconds=5), cap=timedelta(seconds=35))
    waits = [policy.delay(n).total_seconds() for n in range(0, 6)]
    assert waits == [5, 5, 10, 20, 35, 35]


def test_factor_other_than_two() -> None:
    policy = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(hours=1), factor=3)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3)] == [1, 3, 9]


def test_next_attempt_at_adds_the_delay_to_now() -> None:
    policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(minutes=30))
    assert policy.next_attempt_at(3, NOW) == NOW + timedelta(minutes=2)


def test_huge_attempt_counts_stay_at_the_cap() -> None:
    policy = RetryPolicy(base=timedelta(seconds=5), cap=timedelta(minutes=5))
    assert policy.delay(10**9) == timedelta(minutes=5)


def test_exhausted_only_with_a_limit() -> None:
    limited = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=1), max_attempts=3)
    assert [limited.exhausted(n) for n in (2, 3, 4)] == [False, True, True]
    endless = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=1))
    assert not endless.exhausted(10**6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": timedelta(0), "cap": timedelta(seconds=1)},
        {"base": timedelta(seconds=2), "cap": timedelta(seconds=1)},
        {"base": timedelta(seconds=1), "cap": timedelta(seconds=1), "factor": 0},
        {"base": timedelta(seconds=1), "cap": timedelta(seconds=1), "max_attempts": 0},
    ],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_the_two_queues_keep_their_own_numbers() -> None:
    """Printers: 5 s .. 5 min, for ever; HL7 to the lab: 30 s .. 30 min, 20 attempts."""
    assert [PRINT_RETRY.delay(n).total_seconds() for n in (1, 2, 3, 7, 8)] == [
        5,
        10,
        20,
        300,
        300,
    ]
    assert PRINT_RETRY.max_attempts is None
    assert [HL7_RETRY.delay(n).total_seconds() for n in (1, 2, 3, 6, 7)] == [
        30,
        60,
        120,
        960,
        1800,
    ]
    assert HL7_RETRY.max_attempts == 20
