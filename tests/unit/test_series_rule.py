"""Timed-draw windows (labdesk.domain.series) with fixed times: midnight, DST, boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from labdesk.domain.series import (
    Anchor,
    SeriesStep,
    StepStatus,
    countdown,
    first_step_window,
    nearest_wall_clock,
    next_wall_clock,
    schedule,
    wall_clock,
)

NY = "America/New_York"
ZONE = ZoneInfo(NY)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE).astimezone(UTC)  # type: ignore[arg-type, misc]


def step(no: int, step_label: str, anchor: Anchor = Anchor.FIRST_DRAW, **kw: object) -> SeriesStep:
    fields: dict[str, object] = {
        "series_code": "OGTT75",
        "series_name": "OGTT",
        "label": "OGTT",
        "step_no": no,
        "step_label": step_label,
        "test_code": f"T{no}",
        "anchor": anchor,
        "window_before_min": 5,
        "window_after_min": 5,
    }
    fields.update(kw)
    return SeriesStep(**fields)  # type: ignore[arg-type]


OGTT = [step(1, "FASTING"), step(2, "1H", offset_min=60), step(3, "2H", offset_min=120)]


def test_time_point_is_the_label_text() -> None:
    assert OGTT[2].time_point == "OGTT 2H"


def test_ogtt_across_midnight_keeps_elapsed_hours() -> None:
    first = local(2026, 3, 3, 23, 30)
    (one, w1), (two, w2) = schedule(OGTT, first, NY)
    assert (one.step_label, two.step_label) == ("1H", "2H")
    assert w1.due_at == local(2026, 3, 4, 0, 30)
    assert w2.due_at == local(2026, 3, 4, 1, 30)
    assert w1.opens_at == first + timedelta(minutes=55)
    assert w1.closes_at == first + timedelta(minutes=65)


def test_ogtt_across_spring_forward_is_one_real_hour() -> None:
    # 2026-03-08: clocks jump from 02:00 EST to 03:00 EDT.
    first = local(2026, 3, 8, 1, 30)  # EST
    (_, w1), (_, w2) = schedule(OGTT, first, NY)
    assert w1.due_at - first == timedelta(hours=1)
    assert w1.due_at.astimezone(ZONE).strftime("%H:%M %Z") == "03:30 EDT"
    assert w2.due_at.astimezone(ZONE).strftime("%H:%M %Z") == "04:30 EDT"


def test_ogtt_across_fall_back_is_one_real_hour() -> None:
    # 2026-11-01: clocks go back from 02:00 EDT to 01:00 EST; 01:30 happens twice.
    first = datetime(2026, 11, 1, 0, 45, tzinfo=ZONE).astimezone(UTC)  # EDT
    (_, w1), (_, w2) = schedule(OGTT, first, NY)
    assert w1.due_at.astimezone(ZONE).strftime("%H:%M %Z") == "01:45 EDT"
    assert w2.due_at.astimezone(ZONE).strftime("%H:%M %Z") == "01:45 EST"
    assert w2.due_at - w1.due_at == timedelta(hours=1)


@pytest.mark.parametrize(
    ("minutes_after_first", "status"),
    [
        (54, StepStatus.EARLY),
        (55, StepStatus.OPEN),  # window opens (inclusive)
        (59, StepStatus.OPEN),
        (60, StepStatus.DUE),
        (65, StepStatus.DUE),  # window closes (inclusive)
        (66, StepStatus.LATE),
        (75, StepStatus.LATE),  # late for as long again as the window is wide (10 min)
        (76, StepStatus.MISSED),
    ],
)
def test_status_at_the_boundaries(minutes_after_first: int, status: StepStatus) -> None:
    first = local(2026, 6, 1, 8, 0)
    (_, w1), _ = schedule(OGTT, first, NY)
    at = first + timedelta(minutes=minutes_after_first)
    assert w1.status(at) is status
    assert w1.contains(at) == (55 <= minutes_after_first <= 65)


def test_deviation_names_early_and_late_minutes() -> None:
    first = local(2026, 6, 1, 8, 0)
    (_, w1), _ = schedule(OGTT, first, NY)
    assert w1.deviation(first + timedelta(minutes=40)) == "early by 15 min"
    assert w1.deviation(first + timedelta(minutes=65, seconds=1)) == "late by 1 min"
    assert w1.deviation(first + timedelta(minutes=60)) == ""


def test_countdown_words() -> None:
    first = local(2026, 6, 1, 8, 0)
    (_, w1), _ = schedule(OGTT, first, NY)
    assert countdown(w1, first) == "due in 1:00"
    assert countdown(w1, first + timedelta(minutes=61)) == "due now (4 min left)"
    assert countdown(w1, first + timedelta(minutes=70)) == "late 5 min"
    assert countdown(w1, first + timedelta(minutes=90)).startswith("missed")
    assert StepStatus.DUE.alarming
    assert StepStatus.LATE.alarming
    assert not StepStatus.OPEN.alarming


CORTISOL = step(
    1,
    "AM",
    Anchor.CLOCK,
    label="CORT",
    clock_time=time(8, 0),
    window_before_min=60,
    window_after_min=60,
)


@pytest.mark.parametrize(
    ("hour", "minute", "status"),
    [
        (6, 59, StepStatus.EARLY),
        (7, 0, StepStatus.OPEN),
        (8, 0, StepStatus.DUE),
        (9, 0, StepStatus.DUE),
        (9, 1, StepStatus.LATE),
    ],
)
def test_morning_cortisol_window(hour: int, minute: int, status: StepStatus) -> None:
    drawn = local(2026, 6, 1, hour, minute)
    window = first_step_window(CORTISOL, drawn, NY)
    assert window.due_at == local(2026, 6, 1, 8, 0)
    assert window.status(drawn) is status


def test_morning_cortisol_late_evening_draw_is_judged_against_next_morning() -> None:
    drawn = local(2026, 6, 1, 23, 50)
    window = first_step_window(CORTISOL, drawn, NY)
    assert window.due_at == local(2026, 6, 2, 8, 0)
    assert window.deviation(drawn) == "early by 430 min"


def test_clock_window_on_the_spring_forward_morning_is_local_time() -> None:
    drawn = local(2026, 3, 8, 7, 30)  # EDT, the morning after the change
    window = first_step_window(CORTISOL, drawn, NY)
    assert window.due_at.astimezone(ZONE).strftime("%H:%M %Z") == "08:00 EDT"
    assert window.status(drawn) is StepStatus.OPEN


def test_clock_step_after_an_evening_step_lands_next_morning() -> None:
    evening = step(1, "PM", Anchor.CLOCK, clock_time=time(23, 30))
    morning = step(2, "AM", Anchor.CLOCK, clock_time=time(8, 0))
    drawn = local(2026, 10, 31, 23, 32)
    ((_, w),) = schedule([evening, morning], drawn, NY)
    assert w.due_at == local(2026, 11, 1, 8, 0)
    # the night the clocks go back has 25 hours: 8:30 local later is 9.5 real hours
    assert w.due_at - local(2026, 10, 31, 23, 30) == timedelta(hours=9, minutes=30)


def test_wall_clock_gap_and_fold() -> None:
    # 02:30 does not exist on 2026-03-08: read with the offset before the change (EST).
    gap = wall_clock(local(2026, 3, 8, 12, 0), time(2, 30), NY)
    assert gap == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    # 01:30 happens twice on 2026-11-01: the first occurrence (EDT).
    fold = wall_clock(local(2026, 11, 1, 12, 0), time(1, 30), NY)
    assert fold == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert next_wall_clock(fold, time(1, 30), NY) == fold
    assert nearest_wall_clock(local(2026, 6, 1, 1, 0), time(23, 0), NY) == local(2026, 5, 31, 23, 0)


TROUGH = step(
    1,
    "TROUGH",
    Anchor.DOSE,
    label="VANC",
    offset_min=-30,
    window_before_min=30,
    window_after_min=30,
)


@pytest.mark.parametrize(
    ("minutes_before_dose", "inside"),
    [(61, False), (60, True), (30, True), (0, True), (-1, False)],
)
def test_trough_relative_to_the_dose(minutes_before_dose: int, inside: bool) -> None:
    dose = local(2026, 6, 1, 10, 0)
    drawn = dose - timedelta(minutes=minutes_before_dose)
    window = first_step_window(TROUGH, drawn, NY, dose_at=dose)
    assert window.due_at == dose - timedelta(minutes=30)
    assert window.contains(drawn) is inside


def test_trough_without_a_dose_time_is_refused() -> None:
    with pytest.raises(ValueError, match="dose time"):
        first_step_window(TROUGH, local(2026, 6, 1, 9, 0), NY)


def test_first_draw_step_is_always_on_time() -> None:
    drawn = local(2026, 6, 1, 8, 0)
    assert first_step_window(OGTT[0], drawn, NY).status(drawn) is StepStatus.DUE


def _local_hhmm(at: datetime) -> str:
    return at.astimezone(ZONE).strftime("%H:%M %Z")


@pytest.mark.parametrize(
    ("hour", "minute", "status"),
    [
        (23, 54, StepStatus.EARLY),
        (23, 55, StepStatus.OPEN),  # opens before midnight...
        (0, 0, StepStatus.DUE),
        (0, 5, StepStatus.DUE),  # ...closes after it
        (0, 6, StepStatus.LATE),
    ],
)
def test_a_window_across_midnight_keeps_its_boundaries(
    hour: int, minute: int, status: StepStatus
) -> None:
    first = local(2026, 6, 1, 23, 0)
    (_, w1), _ = schedule(OGTT, first, NY)
    assert (_local_hhmm(w1.opens_at), _local_hhmm(w1.closes_at)) == ("23:55 EDT", "00:05 EDT")
    day = 1 if hour == 23 else 2
    assert w1.status(local(2026, 6, day, hour, minute)) is status
    assert countdown(w1, local(2026, 6, 1, 23, 30)) == "due in 0:30"
    assert w1.deviation(local(2026, 6, 2, 0, 10)) == "late by 5 min"


def test_a_window_across_the_spring_forward_gap_is_ten_real_minutes() -> None:
    # 2026-03-08: 02:00 EST becomes 03:00 EDT. 1H after 01:00 EST is 03:00 EDT.
    first = local(2026, 3, 8, 1, 0)
    (_, w1), _ = schedule(OGTT, first, NY)
    assert _local_hhmm(w1.opens_at) == "01:55 EST"
    assert _local_hhmm(w1.due_at) == "03:00 EDT"
    assert _local_hhmm(w1.closes_at) == "03:05 EDT"
    assert w1.closes_at - w1.opens_at == timedelta(minutes=10)
    assert w1.status(first + timedelta(minutes=55)) is StepStatus.OPEN
    assert countdown(w1, first + timedelta(minutes=30)) == "due in 0:30"  # real, not wall


def test_the_repeated_hour_after_fall_back_is_not_on_time() -> None:
    # 2026-11-01: 01:30 happens twice. 1H after 00:30 EDT is the first 01:30 (EDT); at the
    # second 01:30 (EST) the wall clock looks on time but an hour has passed: missed.
    first = datetime(2026, 11, 1, 0, 30, tzinfo=ZONE).astimezone(UTC)
    (_, w1), _ = schedule(OGTT, first, NY)
    assert _local_hhmm(w1.due_at) == "01:30 EDT"
    second_half_past_one = w1.due_at + timedelta(hours=1)
    assert _local_hhmm(second_half_past_one) == "01:30 EST"
    assert w1.status(w1.due_at) is StepStatus.DUE
    assert w1.status(second_half_past_one) is StepStatus.MISSED
    assert w1.deviation(second_half_past_one) == "late by 55 min"


MIDNIGHT = step(
    1, "0H", Anchor.CLOCK, clock_time=time(0, 0), window_before_min=60, window_after_min=60
)


@pytest.mark.parametrize(
    ("day", "hour", "minute", "status"),
    [
        (1, 22, 59, StepStatus.EARLY),
        (1, 23, 30, StepStatus.OPEN),  # judged against the coming midnight, not the last
        (2, 0, 45, StepStatus.DUE),  # and against the midnight just past
        (2, 1, 1, StepStatus.LATE),
    ],
)
def test_a_wall_clock_window_around_midnight(
    day: int, hour: int, minute: int, status: StepStatus
) -> None:
    drawn = local(2026, 6, day, hour, minute)
    window = first_step_window(MIDNIGHT, drawn, NY)
    assert window.due_at == local(2026, 6, 2, 0, 0)
    assert window.status(drawn) is status
