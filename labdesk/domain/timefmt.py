"""Showing UTC instants in the clinic's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from labdesk.domain.clock import ensure_utc


def local(value: datetime, tz: str) -> datetime:
    """Convert an aware datetime to the clinic's zone ``tz`` (IANA name)."""
    return ensure_utc(value).astimezone(ZoneInfo(tz))


def format_local(value: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format ``value`` in the clinic's zone; empty string for None."""
    if value is None:
        return ""
    return local(value, tz).strftime(fmt)
