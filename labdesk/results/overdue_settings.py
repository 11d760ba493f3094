"""The clinic's overdue policy from the ``[overdue]`` section of the TOML config file.

Example (every key optional; defaults in :class:`~labdesk.domain.overdue.OverduePolicy`)::

    [overdue]
    holidays = ["2026-11-26", "2026-12-25"]
    workdays = ["mon", "tue", "wed", "thu", "fri"]
    day_start = "00:00"          # working-day turnaround clocks run from ...
    day_end = "24:00"            # ... to (24:00 = midnight)
    collect_grace_min = 240
    collect_same_day = true
    collect_grace_stat_min = 60
    pickup_grace_min = 120
    transit_expected_min = 240
    recollect_grace_min = 60
    ack_normal_h = 72
    ack_abnormal_h = 24
    critical_ack_min = 60
    default_covering = "doctor"  # user name covering clinicians without their own cover

The time zone is the clinic's (``clinic_timezone`` in ``[labdesk]``). The file is read once,
by :func:`labdesk.config.load_config`, which keeps this table raw in ``Config.overdue``; this
module only parses what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, time
from typing import Any

from labdesk.config import Config, ConfigError
from labdesk.domain.overdue import OverduePolicy
from labdesk.domain.working_calendar import WorkingCalendar

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INT_KEYS = tuple(f.name for f in fields(OverduePolicy) if f.type in ("int", int))


@dataclass(frozen=True)
class OverdueSettings:
    """The policy and who covers clinicians that have no covering clinician of their own."""

    policy: OverduePolicy
    default_covering: str = ""


def overdue_settings(config: Config) -> OverdueSettings:
    """The settings of ``config``'s ``[overdue]`` table (defaults when it is absent).

    Raises:
        ConfigError: naming the bad key and what it must be.
    """
    return settings_from_mapping(
        config.overdue, config.clinic_timezone, source=config.config_file or "the config file"
    )


def settings_from_mapping(
    section: Mapping[str, Any], timezone: str, source: str = "the config file"
) -> OverdueSettings:
    """Build settings from an ``[overdue]`` mapping.

    Raises:
        ConfigError: for an unknown key or a value of the wrong kind.
    """
    known = {*_INT_KEYS, "collect_same_day", "holidays", "workdays", "day_start", "day_end"}
    unknown = sorted(set(section) - known - {"default_covering"})
    if unknown:
        raise _bad(source, unknown[0], f"one of {', '.join(sorted(known))}")
    try:
        calendar = WorkingCalendar(
            timezone=timezone,
            workdays=_workdays(section.get("workdays"), source),
            holidays=_holidays(section.get("holidays", []), source),
            day_start=_clock_time(section.get("day_start", "00:00"), "day_start", source)
            or time(0),
            day_end=_clock_time(section.get("day_end", "24:00"), "day_end", source),
        )
    except ValueError as exc:
        raise ConfigError(f"[overdue] in {source}: {exc}.", hint="Correct the calendar.") from exc
    values: dict[str, Any] = {}
    for key in _INT_KEYS:
        if key in section:
            value = section[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _bad(source, key, "a whole number of zero or more")
            values[key] = value
    if "collect_same_day" in section:
        if not isinstance(section["collect_same_day"], bool):
            raise _bad(source, "collect_same_day", "true or false")
        values["collect_same_day"] = section["collect_same_day"]
    covering = section.get("default_covering", "")
    if not isinstance(covering, str):
        raise _bad(source, "default_covering", "a user name")
    return OverdueSettings(OverduePolicy(calendar=calendar, **values), covering.strip().lower())


def _bad(source: str, key: str, wanted: str) -> ConfigError:
    return ConfigError(
        f"'{key}' in [overdue] of {source} must be {wanted}.",
        hint="Correct the value in the config file.",
    )


def _workdays(value: object, source: str) -> frozenset[int]:
    if value is None:
        return frozenset(range(5))
    if not isinstance(value, list) or not value:
        raise _bad(source, "workdays", 'a list such as ["mon", "tue"]')
    days = set()
    for item in value:
        name = str(item).strip().lower()[:3]
        if name not in _DAYS:
            raise _bad(source, "workdays", f"made of {', '.join(_DAYS)}")
        days.add(_DAYS.index(name))
    return frozenset(days)


def _holidays(value: object, source: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise _bad(source, "holidays", 'a list of dates such as ["2026-12-25"]')
    found = set()
    for item in value:
        if isinstance(item, date):
            found.add(item)
            continue
        try:
            found.add(date.fromisoformat(str(item)))
        except ValueError as exc:
            raise _bad(source, "holidays", "a list of YYYY-MM-DD dates") from exc
    return frozenset(found)


def _clock_time(value: object, key: str, source: str) -> time | None:
    """``HH:MM``; ``24:00`` (end of day) gives None."""
    text = str(value).strip()
    if text in {"24:00", "24:00:00"}:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise _bad(source, key, "a time such as 08:00") from exc
