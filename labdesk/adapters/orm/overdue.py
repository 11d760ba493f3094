"""Tables of the overdue engine: covering clinicians and escalations (migration 0005)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, UniqueConstraint

from labdesk.adapters.orm import mapper_registry, metadata
from labdesk.adapters.types import StrEnumType, UTCDateTime
from labdesk.domain.escalation import CoveringClinician, Escalation
from labdesk.domain.overdue import FlagReason

covering_clinicians = Table(
    "covering_clinicians",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("clinician_id", ForeignKey("users.id"), nullable=False, unique=True),
    Column("covering_id", ForeignKey("users.id"), nullable=False),
    Column("note", String(200), nullable=False, default=""),
    Column("updated_at", UTCDateTime(), nullable=False),
)

escalations = Table(
    "escalations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ordered_test_id", ForeignKey("ordered_tests.id"), nullable=False),
    Column("reason", StrEnumType(FlagReason), nullable=False),
    Column("since_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("escalated_at", UTCDateTime(), nullable=False),
    Column("from_user_id", ForeignKey("users.id")),
    Column("to_user_id", ForeignKey("users.id"), index=True),
    UniqueConstraint("ordered_test_id", "reason", "since_at"),
)


def map_overdue() -> None:
    """Map the overdue domain classes (called once from ``orm.start_mappers``)."""
    mapper_registry.map_imperatively(CoveringClinician, covering_clinicians)
    mapper_registry.map_imperatively(Escalation, escalations)
