"""Ids the station and the server pair on replay, read the same way on both sides."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labdesk.adapters.orm import audit_entries, ordered_tests
from labdesk.downtime.audit_copy import OfflineAuditEntry


def order_test_ids(session: Session, order_id: int) -> list[int]:
    """The ordered tests of ``order_id`` by test code (an order holds each code once).

    The station and the server create an order's tests from the same codes, so this order
    pairs the station's local ids with the server's.
    """
    return [
        int(test_id)
        for test_id in session.scalars(
            select(ordered_tests.c.id)
            .where(ordered_tests.c.order_id == order_id)
            .order_by(ordered_tests.c.test_code, ordered_tests.c.id)
        )
    ]


def last_audit_id(session: Session) -> int:
    """The newest audit entry's id in this database (0 when there is none)."""
    return int(session.scalar(select(func.coalesce(func.max(audit_entries.c.id), 0))) or 0)


def audit_entries_after(session: Session, after: int) -> tuple[OfflineAuditEntry, ...]:
    """The audit entries written after id ``after`` (flushed ones of this session included)."""
    session.flush()
    rows = session.execute(
        select(audit_entries).where(audit_entries.c.id > after).order_by(audit_entries.c.id)
    )
    return tuple(
        OfflineAuditEntry(
            at=row.at,
            action=str(row.action.value if hasattr(row.action, "value") else row.action),
            entity=row.entity,
            entity_id=row.entity_id,
            outcome=row.outcome,
            user_id=row.user_id,
            station=row.station,
            detail=row.detail,
            flagged=bool(row.flagged),
        )
        for row in rows
    )
