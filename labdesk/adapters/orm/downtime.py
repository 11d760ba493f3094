"""Server tables of downtime-proof stations (migration 0019, issue 12 items 2 and 4).

``accession_blocks``: serials the server reserved for one station, so that station can
label tubes while it cannot reach the server. A block is carved from the same year counter
that issues online IDs (``counters``), so no ID is ever handed out twice. ``issued_up_to``
is the last serial the station reported using (``first - 1`` when none); the range after it
is reserved but unused, which is how the lab tells a gap from a lost tube.

``replayed_commands``: one row per outbox command the server received on replay, written in
the same transaction as the command's work (and its ``handled_commands`` key), so the
server knows both times (when it happened at the station, when it arrived) and what came of
it.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from labdesk.adapters.orm import metadata
from labdesk.adapters.types import UTCDateTime

accession_blocks = Table(
    "accession_blocks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("station", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("first", Integer, nullable=False),
    Column("last", Integer, nullable=False),
    Column("issued_up_to", Integer, nullable=False),
    Column("reserved_at", UTCDateTime(), nullable=False),
    UniqueConstraint("year", "first"),
    Index(None, "station", "year"),
)

replayed_commands = Table(
    "replayed_commands",
    metadata,
    Column("idempotency_key", String(64), primary_key=True),
    Column("station", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("command", String(80), nullable=False),
    Column("happened_at", UTCDateTime(), nullable=False),
    Column("synced_at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Index(None, "station", "seq"),
)

reconciliation_items = Table(
    "reconciliation_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "idempotency_key",
        String(64),
        ForeignKey("replayed_commands.idempotency_key"),
        nullable=False,
        unique=True,
    ),
    Column("station", String(32), nullable=False),
    Column("command", String(80), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("specimen_id", Integer, nullable=True),
    Column("ordered_test_id", Integer, nullable=True),
    Column("patient_id", Integer, nullable=True),
    Column("happened_at", UTCDateTime(), nullable=False),
    Column("actor_id", Integer, nullable=True),
    Column("station_summary", Text, nullable=False),
    Column("server_reason", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("resolution", String(32), nullable=True),
    Column("resolved_by", Integer, nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("note", Text, nullable=True),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Index(None, "state"),
    Index(None, "ordered_test_id", "state"),
    Index(None, "specimen_id", "state"),
)
"""A refused replay (migration 0021): what the station did, what the server had, and how
a person resolved it. Never deleted; the station's command stays in ``replayed_commands``."""

station_contacts = Table(
    "station_contacts",
    metadata,
    Column("station", String(32), primary_key=True),
    Column("last_contact_at", UTCDateTime(), nullable=False),
    Column("station_clock_at", UTCDateTime(), nullable=False),
    Column("skew_seconds", Float, nullable=False),
    Column("outbox_pending", Integer, nullable=False),
    Column("outbox_conflicts", Integer, nullable=False),
    Column("block_remaining", Integer, nullable=False),
    Column("replica_seq", Integer, nullable=True),
    Column("replica_age_seconds", Float, nullable=True),
    Column("app_version", String(32), nullable=False),
)
"""Each station's last heartbeat (migration 0022), for the admin Stations view."""
