"""Timed and serial draws: when each step of a test series is due, and where a draw stands.

Pure domain logic (stdlib only). A series (the lab's compendium, ``series.csv``) is a list
of steps, each its own test and tube: an oral glucose tolerance test draws FASTING, 1H and
2H; a drug trough is drawn before the next dose; an early-morning cortisol is drawn in a
wall-clock window. Each step is anchored one of three ways:

* ``first_draw``: an elapsed time after the series' first draw. Elapsed offsets are
  absolute durations (UTC arithmetic): 1 h after a draw at 01:30 on the night the clocks
  go back is one real hour later, whatever the wall clock says.
* ``clock``: a local wall-clock time in the clinic's time zone (07:00-09:00 cortisol).
  For the first step it is the occurrence nearest the draw; for a later step the first
  occurrence at or after the previous step's due time, so a window at 23:30 followed by
  one at 08:00 lands on the next morning. A wall-clock time that does not exist (the hour
  skipped when clocks go forward) is read with the offset before the change, a time that
  happens twice (clocks go back) is its first occurrence.
* ``dose``: minutes relative to a dose time given at the chair (negative: before the dose,
  as for a trough).

Each step has a window (minutes before and after its due time). The status of a step at a
moment is early (before the window), open (in the window, before the due time), due (from
the due time to the window's end), late (after the window, for as long again as the window
is wide) and then missed. Windows include both ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

MIN_TIMING_REASON = 3
"""Fewest characters of a reason for a draw outside its window."""

TIMING_REASONS: tuple[str, ...] = (
    "Patient had to leave early",
    "Patient came back late",
    "Patient was at another appointment",
    "Difficult venous access, drawn after another attempt",
    "Clinician asked for the draw at this time",
    "Patient felt unwell; drawn when recovered",
)
"""Reasons the station offers for a draw outside its window (any other may be typed).
They go to the lab as written, so they stay in the lab's language."""


class Anchor(StrEnum):
    """What a step's due time is measured from."""

    FIRST_DRAW = "first_draw"
    CLOCK = "clock"
    DOSE = "dose"


class StepStatus(StrEnum):
    """Where a step stands at a moment."""

    EARLY = "early"
    OPEN = "open"
    DUE = "due"
    LATE = "late"
    MISSED = "missed"

    @property
    def alarming(self) -> bool:
        """True when the step should be drawn now (the worklist sounds and colours it)."""
        return self in (StepStatus.DUE, StepStatus.LATE)


@dataclass(frozen=True)
class SeriesStep:
    """One step of a series, from the compendium."""

    series_code: str
    series_name: str
    label: str
    """What the tube says before the step label, e.g. ``OGTT``."""
    step_no: int
    step_label: str
    """``FASTING``, ``1H``, ``2H``, ``TROUGH``..."""
    test_code: str
    anchor: Anchor
    offset_min: int = 0
    """first_draw: minutes after the first draw; dose: minutes from the dose (may be < 0)."""
    clock_time: time | None = None
    """clock: the local wall-clock due time."""
    window_before_min: int = 0
    window_after_min: int = 0
    reason_required: bool = True
    """A draw outside the window needs a reason, which goes to the lab."""

    @property
    def time_point(self) -> str:
        """The label's time point, e.g. ``OGTT 2H``."""
        return f"{self.label} {self.step_label}".strip()


@dataclass(frozen=True)
class Window:
    """A step's due time and window (aware UTC)."""

    due_at: datetime
    opens_at: datetime
    closes_at: datetime

    @property
    def missed_after(self) -> datetime:
        """After this the step is missed (late lasts as long again as the window is wide)."""
        return self.closes_at + (self.closes_at - self.opens_at)

    def status(self, at: datetime) -> StepStatus:
        """Where the step stands at ``at`` (both window ends count as inside)."""
        if at < self.opens_at:
            return StepStatus.EARLY
        if at < self.due_at:
            return StepStatus.OPEN
        if at <= self.closes_at:
            return StepStatus.DUE
        if at <= self.missed_after:
            return StepStatus.LATE
        return StepStatus.MISSED

    def contains(self, at: datetime) -> bool:
        """True when ``at`` is inside the window (ends included)."""
        return self.opens_at <= at <= self.closes_at

    def deviation(self, at: datetime) -> str:
        """How far outside the window ``at`` is, in words ('' when inside)."""
        if at < self.opens_at:
            return f"early by {_minutes(self.opens_at - at)} min"
        if at > self.closes_at:
            return f"late by {_minutes(at - self.closes_at)} min"
        return ""


def _minutes(delta: timedelta) -> int:
    """Whole minutes, rounded up (59 s early is 1 min early)."""
    return -(-int(delta.total_seconds()) // 60)


def wall_clock(day: datetime, at: time, timezone: str) -> datetime:
    """``at`` on ``day``'s local date in ``timezone``, as aware UTC (see module notes)."""
    zone = ZoneInfo(timezone)
    local_date = day.astimezone(zone).date()
    return datetime.combine(local_date, at, tzinfo=zone).astimezone(UTC)


def _shift_days(moment: datetime, at: time, timezone: str, days: int) -> datetime:
    """The wall-clock time ``at`` on the local date ``days`` after ``moment``'s."""
    zone = ZoneInfo(timezone)
    local_date = moment.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(local_date, at, tzinfo=zone).astimezone(UTC)


def nearest_wall_clock(reference: datetime, at: time, timezone: str) -> datetime:
    """The occurrence of local ``at`` nearest ``reference`` (yesterday, today or tomorrow)."""
    candidates = [_shift_days(reference, at, timezone, days) for days in (-1, 0, 1)]
    return min(candidates, key=lambda c: abs(c - reference))


def next_wall_clock(after: datetime, at: time, timezone: str) -> datetime:
    """The first occurrence of local ``at`` at or after ``after``."""
    for days in (0, 1, 2):
        candidate = _shift_days(after, at, timezone, days)
        if candidate >= after:
            return candidate
    raise AssertionError("unreachable: a wall-clock time recurs within two days")


def window_around(step: SeriesStep, due_at: datetime) -> Window:
    """The step's window around ``due_at``."""
    return Window(
        due_at=due_at,
        opens_at=due_at - timedelta(minutes=step.window_before_min),
        closes_at=due_at + timedelta(minutes=step.window_after_min),
    )


def first_step_window(
    step: SeriesStep,
    drawn_at: datetime,
    timezone: str,
    *,
    dose_at: datetime | None = None,
) -> Window:
    """The window the series' first step is judged against when drawn at ``drawn_at``.

    A first_draw step defines the anchor, so it is always on time. A clock step uses the
    occurrence of its wall-clock time nearest the draw; a dose step needs ``dose_at``.

    Raises:
        ValueError: a dose step without a dose time.
    """
    if step.anchor is Anchor.CLOCK:
        assert step.clock_time is not None
        return window_around(step, nearest_wall_clock(drawn_at, step.clock_time, timezone))
    if step.anchor is Anchor.DOSE:
        if dose_at is None:
            raise ValueError(f"{step.time_point} is timed from a dose: give the dose time")
        return window_around(step, dose_at + timedelta(minutes=step.offset_min))
    return window_around(step, drawn_at)


def schedule(
    steps: Sequence[SeriesStep],
    first_drawn_at: datetime,
    timezone: str,
    *,
    dose_at: datetime | None = None,
) -> list[tuple[SeriesStep, Window]]:
    """Due times and windows of the steps after the first, once the first was drawn.

    ``steps`` are in step order; the first is the one drawn at ``first_drawn_at``. Elapsed
    offsets count from the first draw (less the first step's own offset), clock steps from
    the previous step's due time, dose steps from ``dose_at``.

    Raises:
        ValueError: a dose step without a dose time.
    """
    if not steps:
        return []
    first = steps[0]
    base = first_drawn_at - timedelta(
        minutes=first.offset_min if first.anchor is Anchor.FIRST_DRAW else 0
    )
    previous_due = first_step_window(first, first_drawn_at, timezone, dose_at=dose_at).due_at
    if first.anchor is Anchor.FIRST_DRAW:
        previous_due = first_drawn_at
    planned: list[tuple[SeriesStep, Window]] = []
    for step in steps[1:]:
        if step.anchor is Anchor.FIRST_DRAW:
            due = base + timedelta(minutes=step.offset_min)
        elif step.anchor is Anchor.CLOCK:
            assert step.clock_time is not None
            due = next_wall_clock(previous_due, step.clock_time, timezone)
        else:
            if dose_at is None:
                raise ValueError(f"{step.time_point} is timed from a dose: give the dose time")
            due = dose_at + timedelta(minutes=step.offset_min)
        window = window_around(step, due)
        planned.append((step, window))
        previous_due = due
    return planned


def countdown(window: Window, now: datetime) -> str:
    """What the worklist shows: ``due in 1:05``, ``due now (4 min left)``, ``late 7 min``."""
    status = window.status(now)
    if status in (StepStatus.EARLY, StepStatus.OPEN):
        seconds = int((window.due_at - now).total_seconds())
        hours, rest = divmod(max(seconds, 0), 3600)
        return f"due in {hours}:{rest // 60:02d}"
    if status is StepStatus.DUE:
        return f"due now ({_minutes(window.closes_at - now)} min left)"
    if status is StepStatus.LATE:
        return f"late {_minutes(now - window.closes_at)} min"
    return f"missed (window closed {_minutes(now - window.closes_at)} min ago)"


@dataclass(frozen=True)
class TimedDraw:
    """One scheduled step of a patient's series: its window, and how it was drawn."""

    patient_id: int
    order_id: int
    series_code: str
    step_no: int
    ordered_test_id: int
    time_point: str
    window: Window
    reason_required: bool
    scheduled_at: datetime
    specimen_id: int | None = None
    collected_at: datetime | None = None
    out_of_window: bool = False
    deviation: str = ""
    """``early by 12 min`` / ``late by 3 min`` when drawn outside the window."""
    timing_reason: str = ""
    id: int | None = None

    @property
    def collected(self) -> bool:
        """True once a specimen drew this step."""
        return self.specimen_id is not None
