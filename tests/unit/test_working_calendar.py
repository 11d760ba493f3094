"""Working-time calendar: weekends, holidays, opening hours and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from labdesk.domain.working_calendar import WorkingCalendar, end_of_local_day

NY = ZoneInfo("America/New_York")


def ny(*args: int) -> datetime:
    """A New York wall-clock time as an aware datetime."""
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


CAL = WorkingCalendar(timezone="America/New_York")


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        pytest.param(ny(2026, 3, 2, 9, 0), 2880, ny(2026, 3, 4, 9, 0), id="mon-to-wed"),
        pytest.param(ny(2026, 2, 27, 22, 0), 2880, ny(2026, 3, 3, 22, 0), id="fri-over-weekend"),
        pytest.param(ny(2026, 2, 28, 10, 0), 60, ny(2026, 3, 2, 1, 0), id="starts-saturday"),
        pytest.param(ny(2026, 2, 28, 10, 0), 0, ny(2026, 3, 2, 0, 0), id="zero-on-weekend"),
        pytest.param(ny(2026, 3, 6, 23, 0), 60, ny(2026, 3, 7, 0, 0), id="ends-at-friday-close"),
    ],
)
def test_add_skips_weekends(start: datetime, minutes: int, expected: datetime) -> None:
    assert CAL.add(start, minutes) == expected


def test_add_over_spring_forward_weekend_keeps_local_wall_time() -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT happens on the Sunday, outside working time: two
    # working days from Friday 22:00 EST end on Tuesday 22:00 EDT, one real hour less.
    start = ny(2026, 3, 6, 22, 0)
    due = CAL.add(start, 2880)
    assert due == ny(2026, 3, 10, 22, 0)
    assert due.utcoffset() != start.utcoffset()
    assert due - start == timedelta(days=4, hours=-1)


def test_add_over_fall_back_weekend_keeps_local_wall_time() -> None:
    start = ny(2026, 10, 30, 22, 0)  # Friday, EDT; Sunday 2026-11-01 falls back to EST
    due = CAL.add(start, 2880)
    assert due == ny(2026, 11, 3, 22, 0)
    assert due - start == timedelta(days=4, hours=1)


def test_dst_day_that_is_a_working_day_counts_real_minutes() -> None:
    every_day = WorkingCalendar(timezone="America/New_York", workdays=frozenset(range(7)))
    start = ny(2026, 3, 8, 0, 0)  # the 23-hour Sunday
    assert every_day.add(start, 24 * 60) == ny(2026, 3, 9, 1, 0)
    assert every_day.minutes_between(start, ny(2026, 3, 9, 0, 0)) == 23 * 60
    autumn = ny(2026, 11, 1, 0, 0)  # the 25-hour Sunday
    assert every_day.minutes_between(autumn, ny(2026, 11, 2, 0, 0)) == 25 * 60


def test_holidays_do_not_count() -> None:
    cal = WorkingCalendar(timezone="America/New_York", holidays=frozenset({date(2026, 11, 26)}))
    # Wednesday 09:00 + 2 working days: Thanksgiving (Thursday) is skipped -> Monday 09:00.
    assert cal.add(ny(2026, 11, 25, 9, 0), 2880) == ny(2026, 11, 30, 9, 0)
    assert not cal.is_working_day(date(2026, 11, 26))
    assert cal.is_working_day(date(2026, 11, 27))


def test_opening_hours_limit_the_clock() -> None:
    cal = WorkingCalendar(timezone="America/New_York", day_start=time(8), day_end=time(17))
    assert cal.add(ny(2026, 3, 2, 16, 0), 120) == ny(2026, 3, 3, 9, 0)
    assert cal.add(ny(2026, 3, 2, 6, 0), 30) == ny(2026, 3, 2, 8, 30)
    assert cal.minutes_between(ny(2026, 3, 2, 16, 0), ny(2026, 3, 3, 9, 0)) == 120


def test_minutes_between_inverts_add() -> None:
    start = ny(2026, 3, 5, 13, 17)
    for minutes in (0, 59, 1440, 2880, 10_000):
        assert CAL.minutes_between(start, CAL.add(start, minutes)) == pytest.approx(minutes)
    assert CAL.minutes_between(ny(2026, 3, 5), ny(2026, 3, 4)) == 0


def test_end_of_local_day_across_dst() -> None:
    sunday = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert end_of_local_day(sunday, "America/New_York") == datetime(2026, 3, 9, 4, tzinfo=UTC)
    saturday = datetime(2026, 3, 8, 4, 30, tzinfo=UTC)  # 23:30 EST on Saturday
    assert end_of_local_day(saturday, "America/New_York") == datetime(2026, 3, 8, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"timezone": "Mars/Olympus"}, id="zone"),
        pytest.param({"workdays": frozenset()}, id="no-workdays"),
        pytest.param({"workdays": frozenset({7})}, id="bad-day"),
        pytest.param({"day_start": time(9), "day_end": time(8)}, id="closes-before-opening"),
    ],
)
def test_bad_calendars_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, KeyError)):
        WorkingCalendar(**kwargs)  # type: ignore[arg-type]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.add(ny(2026, 3, 2), -1)
    with pytest.raises(ValueError, match="naive"):
        CAL.add(datetime(2026, 3, 2), 10)  # noqa: DTZ001 - the point of the test
