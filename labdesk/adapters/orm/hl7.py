"""Tables of the HL7 interface (migration 0004): received messages, unmatched, outbound.

``uq_hl7_messages_applied`` (migration 0010) makes "applied once" a database rule: at most
one *processed* row per sender and MSH-10, whichever process or listener inserts it. A
duplicate is still stored (status ``duplicate``), only never as processed twice.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from labdesk.adapters.orm import mapper_registry, metadata
from labdesk.adapters.types import StrEnumType, UTCDateTime
from labdesk.domain.hl7 import (
    AckCode,
    InboundMessage,
    MessageStatus,
    OutboundMessage,
    OutboundStatus,
    UnmatchedResult,
    UnmatchedStatus,
)

_PROCESSED = text("status = 'processed'")

hl7_messages = Table(
    "hl7_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("control_id", String(64), nullable=False),
    Column("sender", String(120), nullable=False, default=""),
    Column("message_type", String(16), nullable=False, default=""),
    Column("version", String(8), nullable=False, default=""),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("source", String(120), nullable=False, default=""),
    Column("raw", Text, nullable=False),
    Column("status", StrEnumType(MessageStatus, 16), nullable=False),
    Column("ack_code", StrEnumType(AckCode, 2), nullable=False),
    Column("error", String(400), nullable=False, default=""),
    Column("duplicate_of_id", ForeignKey("hl7_messages.id")),
    Column("resolved_at", UTCDateTime()),
    Column("resolved_by_id", ForeignKey("users.id")),
    Column("resolution", String(200), nullable=False, default=""),
    Index(None, "control_id", "sender"),
    Index(None, "status", "received_at"),
    Index(
        "uq_hl7_messages_applied",
        "sender",
        "control_id",
        unique=True,
        sqlite_where=_PROCESSED,
        postgresql_where=_PROCESSED,
    ),
)

unmatched_results = Table(
    "unmatched_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", ForeignKey("hl7_messages.id"), nullable=False, index=True),
    Column("group_index", Integer, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("reason", String(400), nullable=False),
    Column("patient_mrn", String(32), nullable=False, default=""),
    Column("patient_name", String(200), nullable=False, default=""),
    Column("patient_birth_date", String(16), nullable=False, default=""),
    Column("placer_order_number", String(40), nullable=False, default=""),
    Column("accession", String(40), nullable=False, default=""),
    Column("test_code", String(32), nullable=False, default=""),
    Column("test_name", String(160), nullable=False, default=""),
    Column("status", StrEnumType(UnmatchedStatus, 16), nullable=False, index=True),
    Column("matched_ordered_test_id", ForeignKey("ordered_tests.id")),
    Column("resolved_at", UTCDateTime()),
    Column("resolved_by_id", ForeignKey("users.id")),
    Column("discrepancy_test_id", ForeignKey("ordered_tests.id"), index=True),  # 0009
)

outbound_messages = Table(
    "outbound_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("control_id", String(64), nullable=False, unique=True),
    Column("message_type", String(16), nullable=False),
    Column("specimen_key", String(400), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("status", StrEnumType(OutboundStatus, 16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(400), nullable=False, default=""),
    Column("ack_code", String(2), nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Index(None, "status", "next_attempt_at"),
    CheckConstraint("attempts >= 0", name="attempts_non_negative"),
)


def map_hl7() -> None:
    """Map the HL7 domain classes (called once from ``orm.start_mappers``)."""
    mapper_registry.map_imperatively(InboundMessage, hl7_messages)
    mapper_registry.map_imperatively(UnmatchedResult, unmatched_results)
    mapper_registry.map_imperatively(OutboundMessage, outbound_messages)
