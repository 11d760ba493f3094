"""SQL for downtime reconciliation items (migration 0021), PostgreSQL or SQLite.

Kept apart from :mod:`labdesk.adapters.downtime.server` (replay) so the replay can call
:func:`insert_item` inside its own transaction and the admin worklist can read and
resolve items without knowing how replay works.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from labdesk.adapters.orm.downtime import reconciliation_items, replayed_commands

OPEN = "open"
RESOLVED = "resolved"


def insert_item(session: Session, values: dict[str, Any]) -> int | None:
    """Insert one item unless its command already has one; return its id (None: had one).

    One statement, built once per dialect (``ON CONFLICT DO NOTHING`` on the item's unique
    key): every offline order replayed opens an item, so a look-up first was a round trip
    per order, and building the insert each time cost more than running it on SQLite.
    """
    stmt = _insert_item(session.get_bind().dialect.name)
    new_id = session.execute(stmt, values).scalar_one_or_none()
    return None if new_id is None else int(new_id)


@functools.cache
def _insert_item(dialect: str) -> ReturningInsert[Any]:
    ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        ins(reconciliation_items)
        .on_conflict_do_nothing(index_elements=[reconciliation_items.c.idempotency_key])
        .returning(reconciliation_items.c.id)
    )


def refused_without_item(session: Session) -> list[dict[str, Any]]:
    """Refused replayed commands that have no reconciliation item yet (for the backfill)."""
    has_item = (
        select(reconciliation_items.c.id)
        .where(reconciliation_items.c.idempotency_key == replayed_commands.c.idempotency_key)
        .exists()
    )
    rows = session.execute(
        select(replayed_commands)
        .where(replayed_commands.c.outcome == "refused", ~has_item)
        .order_by(replayed_commands.c.station, replayed_commands.c.seq)
    ).mappings()
    return [dict(row) for row in rows]


def items(
    session: Session, *, state: str | None, station: str | None = None
) -> list[dict[str, Any]]:
    """Items (open ones when ``state`` is ``open``; one station's when ``station`` is
    given), oldest station time first."""
    query = select(reconciliation_items).order_by(
        reconciliation_items.c.happened_at, reconciliation_items.c.id
    )
    if state is not None:
        query = query.where(reconciliation_items.c.state == state)
    if station is not None:
        query = query.where(reconciliation_items.c.station == station)
    return [dict(row) for row in session.execute(query).mappings()]


def item_for_update(session: Session, item_id: int) -> dict[str, Any] | None:
    """One item, locked for the resolving transaction (PostgreSQL row lock)."""
    query = select(reconciliation_items).where(reconciliation_items.c.id == item_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.execute(query).mappings().one_or_none()
    return dict(row) if row is not None else None


def mark_resolved(
    session: Session,
    item_id: int,
    *,
    resolution: str,
    resolved_by: int,
    resolved_at: datetime,
    note: str,
) -> None:
    """Record a resolution on an open item (the station's command row is left untouched)."""
    session.execute(
        update(reconciliation_items)
        .where(reconciliation_items.c.id == item_id, reconciliation_items.c.state == OPEN)
        .values(
            state=RESOLVED,
            resolution=resolution,
            resolved_by=resolved_by,
            resolved_at=resolved_at,
            note=note,
        )
    )


def open_count(session: Session, station: str) -> int:
    """How many items of ``station`` are still open."""
    return int(
        session.execute(
            select(func.count())
            .select_from(reconciliation_items)
            .where(reconciliation_items.c.station == station, reconciliation_items.c.state == OPEN)
        ).scalar_one()
    )
