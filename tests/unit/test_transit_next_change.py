"""When a specimen's in-transit flags next change (the panel's single-shot reload)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labdesk.domain.transit import TransitFlag, next_flag_change, transit_flags

PICKED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _flags(now: datetime, stability: datetime | None) -> tuple[TransitFlag, ...]:
    return transit_flags(
        now=now, picked_up_at=PICKED, transit_minutes=90, stability_deadline=stability
    )


def _next(now: datetime, stability: datetime | None) -> datetime | None:
    return next_flag_change(
        now=now, picked_up_at=PICKED, transit_minutes=90, stability_deadline=stability
    )


@pytest.mark.parametrize(
    ("now", "stability", "expected"),
    [
        (PICKED, None, PICKED + 90 * MIN),
        (PICKED, PICKED + 30 * MIN, PICKED + 30 * MIN),  # stability runs out first
        (PICKED + 40 * MIN, PICKED + 30 * MIN, PICKED + 90 * MIN),  # past it: overdue next
        (PICKED + 90 * MIN, None, PICKED + 90 * MIN),  # raised just after this moment
        (PICKED + 91 * MIN, None, None),  # overdue already, no stability limit
        (PICKED + 91 * MIN, PICKED + 2 * 60 * MIN, PICKED + 2 * 60 * MIN),
        (PICKED + 3 * 60 * MIN, PICKED + 2 * 60 * MIN, None),  # every flag raised
    ],
)
def test_the_next_change_is_when_a_flag_rises(
    now: datetime, stability: datetime | None, expected: datetime | None
) -> None:
    assert _next(now, stability) == expected


@pytest.mark.parametrize("stability", [None, PICKED + 45 * MIN, PICKED + 150 * MIN])
def test_flags_stay_the_same_until_the_next_change_and_differ_after_it(
    stability: datetime | None,
) -> None:
    now = PICKED + 5 * MIN
    while (change := _next(now, stability)) is not None:
        assert _flags(change - timedelta(seconds=1), stability) == _flags(now, stability)
        after = change + timedelta(milliseconds=1)
        assert _flags(after, stability) != _flags(now, stability)
        now = after
    assert len(_flags(now, stability)) == (1 if stability is None else 2)
