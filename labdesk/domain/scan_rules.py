"""What a courier or lab scan means: outcome codes, their severity, stability arithmetic.

Pure rules: the services look the specimen up and turn a code into words with names and
times; the screens turn the severity into a colour and a sound.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from labdesk.domain.catalog import TemperatureClass, TestDefinition
from labdesk.domain.specimen import SpecimenStatus


class Severity(StrEnum):
    """How a screen presents a scan's outcome."""

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class ScanCode(StrEnum):
    """Every outcome of one scan at pickup or at lab receipt."""

    # pickup: recorded
    ADDED = "added"
    AT_RISK = "at_risk"
    BEYOND_STABILITY = "beyond_stability"
    BAG_OPENED = "bag_opened"
    # pickup and receipt: nothing new recorded, nothing wrong
    ALREADY_ON_MANIFEST = "already_on_manifest"
    ALREADY_RECEIVED = "already_received"
    # refused
    MALFORMED = "malformed"
    UNKNOWN_ID = "unknown_id"
    ALREADY_PICKED_UP = "already_picked_up"
    NOT_READY = "not_ready"
    WRONG_SITE = "wrong_site"
    WRONG_TEMPERATURE = "wrong_temperature"
    REJECTED = "rejected"
    LOST = "lost"
    AT_LAB = "at_lab"
    NOT_SHIPPED = "not_shipped"
    # receipt: recorded
    RECEIVED = "received"
    RECEIVED_DAMAGED = "received_damaged"
    RECEIVED_UNEXPECTED = "received_unexpected"


SEVERITY: dict[ScanCode, Severity] = {
    ScanCode.ADDED: Severity.OK,
    ScanCode.RECEIVED: Severity.OK,
    ScanCode.BAG_OPENED: Severity.INFO,
    ScanCode.ALREADY_ON_MANIFEST: Severity.INFO,
    ScanCode.ALREADY_RECEIVED: Severity.INFO,
    ScanCode.AT_RISK: Severity.WARNING,
    ScanCode.BEYOND_STABILITY: Severity.WARNING,
    ScanCode.RECEIVED_DAMAGED: Severity.WARNING,
    ScanCode.RECEIVED_UNEXPECTED: Severity.WARNING,
}
"""Codes not listed are errors: the scan was refused and nothing was recorded."""

RECORDED = frozenset(
    {
        ScanCode.ADDED,
        ScanCode.AT_RISK,
        ScanCode.BEYOND_STABILITY,
        ScanCode.RECEIVED,
        ScanCode.RECEIVED_DAMAGED,
        ScanCode.RECEIVED_UNEXPECTED,
    }
)
"""Codes whose scan appended a custody event."""


def severity_of(code: ScanCode) -> Severity:
    """The severity a screen shows ``code`` with."""
    return SEVERITY.get(code, Severity.ERROR)


def pickup_refusal(
    status: SpecimenStatus,
    *,
    specimen_site_id: int,
    manifest_site_id: int,
    specimen_temperature: TemperatureClass,
    bag_temperature: TemperatureClass | None,
) -> ScanCode | None:
    """Why a specimen cannot be picked up onto a manifest, or None when it can.

    ``IN_TRANSIT`` yields ``ALREADY_PICKED_UP``; the caller tells whether that was onto the
    same manifest (an idempotent repeat) or someone else's.
    """
    blocking = {
        SpecimenStatus.REJECTED: ScanCode.REJECTED,
        SpecimenStatus.LOST: ScanCode.LOST,
        SpecimenStatus.RECEIVED: ScanCode.AT_LAB,
        SpecimenStatus.DELIVERED: ScanCode.AT_LAB,
        SpecimenStatus.IN_TRANSIT: ScanCode.ALREADY_PICKED_UP,
        SpecimenStatus.COLLECTED: ScanCode.NOT_READY,
        SpecimenStatus.LABELLED: ScanCode.NOT_READY,
    }
    if status in blocking:
        return blocking[status]
    if specimen_site_id != manifest_site_id:
        return ScanCode.WRONG_SITE
    if bag_temperature is not None and bag_temperature is not specimen_temperature:
        return ScanCode.WRONG_TEMPERATURE
    return None


@dataclass(frozen=True)
class StabilityLimit:
    """How long a specimen stays valid at its temperature, and which test decides it."""

    hours: float | None
    """None when no test of the specimen states a limit."""
    test_code: str = ""


def stability_limit(
    tests: Iterable[TestDefinition], temperature: TemperatureClass
) -> StabilityLimit:
    """The shortest stability among ``tests`` at ``temperature``.

    A test with no stability at that temperature must not be kept there: its limit is 0.
    """
    best = StabilityLimit(hours=None)
    for test in tests:
        hours = test.stability_hours(temperature)
        hours = 0.0 if hours is None else hours
        if best.hours is None or hours < best.hours:
            best = StabilityLimit(hours=hours, test_code=test.code)
    return best


def stability_deadline(collected_at: datetime, limit: StabilityLimit) -> datetime | None:
    """When the specimen stops being valid (None: no limit known)."""
    if limit.hours is None:
        return None
    return collected_at + timedelta(hours=limit.hours)


def stability_code(
    deadline: datetime | None, now: datetime, transit_minutes: int
) -> ScanCode | None:
    """``BEYOND_STABILITY`` past the deadline, ``AT_RISK`` when the trip would pass it."""
    if deadline is None:
        return None
    if now >= deadline:
        return ScanCode.BEYOND_STABILITY
    if now + timedelta(minutes=transit_minutes) > deadline:
        return ScanCode.AT_RISK
    return None


def describe_duration(delta: timedelta) -> str:
    """``2 h 05 min`` style text for a non-negative duration (negative shows as 0 min)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
