"""SQL for station contacts (migration 0022) and the reserved-but-unused accession ranges."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from labdesk.adapters.orm.downtime import accession_blocks, station_contacts


def upsert_contact(session: Session, values: dict[str, Any]) -> None:
    """Insert or replace the one row of ``values["station"]``."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(station_contacts).values(**values)
    update = {k: stmt.excluded[k] for k in values if k != "station"}
    session.execute(stmt.on_conflict_do_update(index_elements=["station"], set_=update))


def contacts(session: Session) -> list[dict[str, Any]]:
    """Every station's last contact."""
    rows = session.execute(select(station_contacts).order_by(station_contacts.c.station))
    return [dict(row) for row in rows.mappings()]


def unused_ranges(session: Session) -> list[tuple[str, int, int, int]]:
    """``(station, year, first unused, last)`` of every block with serials left."""
    b = accession_blocks.c
    rows = session.execute(
        select(b.station, b.year, b.issued_up_to, b.last)
        .where(b.issued_up_to < b.last)
        .order_by(b.station, b.year, b.first)
    )
    return [(str(s), int(y), int(up) + 1, int(last)) for s, y, up, last in rows]
