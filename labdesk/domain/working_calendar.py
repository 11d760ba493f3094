"""A clinic's working-time calendar: which local days and hours a turnaround clock runs.

Some tests are promised in working days (the catalog's ``working_days``): their clock only
runs on working days (Monday to Friday unless configured, minus the clinic's holidays) and,
optionally, only within opening hours. Days and hours are the clinic's local ones, so the
windows are built in its IANA time zone and converted to UTC: a working day that contains a
daylight-saving change is 23 or 25 real hours long, and each real minute counts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from labdesk.domain.clock import ensure_utc

MONDAY_TO_FRIDAY = frozenset({0, 1, 2, 3, 4})
MAX_SEARCH_DAYS = 3 * 366
"""A turnaround longer than this many calendar days is refused as a configuration error."""


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days and hours in one time zone.

    Attributes:
        timezone: IANA zone of the clinic, e.g. ``America/New_York``.
        workdays: ``date.weekday()`` numbers that are working days (Monday is 0).
        holidays: local dates that are not working days even on a workday.
        day_start: local time the working day opens (midnight by default).
        day_end: local time it closes; ``None`` means the following midnight.
    """

    timezone: str = "America/New_York"
    workdays: frozenset[int] = MONDAY_TO_FRIDAY
    holidays: frozenset[date] = field(default_factory=frozenset)
    day_start: time = time(0)
    day_end: time | None = None

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # raises for an unknown zone
        if not self.workdays or not self.workdays <= set(range(7)):
            raise ValueError(f"workdays must be a non-empty subset of 0..6, not {self.workdays}")
        if self.day_end is not None and self.day_end <= self.day_start:
            raise ValueError("a working day must close after it opens")

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        """True when the clock runs on the local date ``day``."""
        return day.weekday() in self.workdays and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime]:
        """Opening and closing instants (aware UTC) of the local date ``day``."""
        zone = self.zone
        opens = datetime.combine(day, self.day_start, tzinfo=zone)
        if self.day_end is None:
            closes = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        else:
            closes = datetime.combine(day, self.day_end, tzinfo=zone)
        return opens.astimezone(UTC), closes.astimezone(UTC)

    def add(self, start: datetime, minutes: float) -> datetime:
        """The instant ``minutes`` of working time after ``start``.

        Time outside working windows does not count; a start outside them waits for the next
        opening. Zero minutes from a start outside working time gives the next opening.

        Raises:
            ValueError: for negative minutes, a naive ``start`` or a turnaround that does
                not fit in ``MAX_SEARCH_DAYS`` calendar days.
        """
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        cursor = ensure_utc(start)
        remaining = timedelta(minutes=minutes)
        day = cursor.astimezone(self.zone).date()
        for _ in range(MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                opens, closes = self.window(day)
                begin = max(opens, cursor)
                if begin < closes:
                    if remaining <= closes - begin:
                        return begin + remaining
                    remaining -= closes - begin
                    cursor = closes
            day += timedelta(days=1)
        raise ValueError(f"{minutes} working minutes do not fit in {MAX_SEARCH_DAYS} days")

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes from ``start`` to ``end`` (0 when ``end`` is not later)."""
        begin, stop = ensure_utc(start), ensure_utc(end)
        total = timedelta(0)
        day = begin.astimezone(self.zone).date()
        last = stop.astimezone(self.zone).date()
        while begin < stop and day <= last:
            if self.is_working_day(day):
                opens, closes = self.window(day)
                lo, hi = max(opens, begin), min(closes, stop)
                if lo < hi:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 60


def end_of_local_day(instant: datetime, timezone: str) -> datetime:
    """The next local midnight after ``instant`` in ``timezone``, as aware UTC."""
    zone = ZoneInfo(timezone)
    local_day = ensure_utc(instant).astimezone(zone).date()
    return datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
