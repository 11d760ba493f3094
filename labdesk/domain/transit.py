"""In-transit timers: a specimen on the road too long, or past its stability."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_TRANSIT_MINUTES = 90
"""Expected transit when a specimen travels without a known route."""


class TransitFlag(StrEnum):
    """Why a specimen in transit needs attention."""

    OVERDUE = "overdue"
    """Longer on the road than its route's expected transit time."""
    BEYOND_STABILITY = "beyond_stability"
    """Past its catalog stability since collection."""


def transit_flags(
    *,
    now: datetime,
    picked_up_at: datetime,
    transit_minutes: int,
    stability_deadline: datetime | None,
) -> tuple[TransitFlag, ...]:
    """Flags of one specimen still in transit (empty when all is well)."""
    flags = []
    if now - picked_up_at > timedelta(minutes=transit_minutes):
        flags.append(TransitFlag.OVERDUE)
    if stability_deadline is not None and now >= stability_deadline:
        flags.append(TransitFlag.BEYOND_STABILITY)
    return tuple(flags)


def next_flag_change(
    *,
    now: datetime,
    picked_up_at: datetime,
    transit_minutes: int,
    stability_deadline: datetime | None,
) -> datetime | None:
    """When :func:`transit_flags` of this specimen next changes after ``now`` (None: never).

    A screen listing the flags reloads then instead of polling. Overdue is raised just after
    ``picked_up_at + transit_minutes``, beyond stability at the deadline.
    """
    overdue_at = picked_up_at + timedelta(minutes=transit_minutes)
    moments = [overdue_at] if overdue_at >= now else []
    if stability_deadline is not None and stability_deadline > now:
        moments.append(stability_deadline)
    return min(moments, default=None)
