"""Column types that keep the domain's invariants across SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Dialect, String
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zones, so values are stored as naive UTC there; PostgreSQL uses
    ``timestamptz``. A naive value from the application is a bug and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC (naive for SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what SQLite returns; normalise PostgreSQL's zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(TypeDecorator[StrEnum]):
    """A ``StrEnum`` stored as its string value in a VARCHAR (portable, readable in SQL)."""

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[StrEnum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls
        self.length = length

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Store the enum's value, validating plain strings."""
        if value is None:
            return None
        return str(self.enum_cls(value).value)

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        """Return the enum member."""
        if value is None:
            return None
        return self.enum_cls(value)
