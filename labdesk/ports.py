"""Seams between services and the outside world.

Services are written against these names. There is one storage implementation (SQLAlchemy,
tested on in-memory SQLite in milliseconds and on PostgreSQL in CI), so the unit of work
port is an alias rather than a parallel hierarchy of abstract repositories.
"""

from __future__ import annotations

from collections.abc import Callable

from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork
from labdesk.domain.clock import Clock

UnitOfWork = SqlAlchemyUnitOfWork
UowFactory = Callable[[], SqlAlchemyUnitOfWork]

__all__ = ["Clock", "UnitOfWork", "UowFactory"]
