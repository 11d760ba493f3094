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

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

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
