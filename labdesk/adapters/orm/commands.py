"""The command log: one row per handled command, keyed by its idempotency key.

The key is the primary key, so a command handled twice (a double click, the downtime outbox
replaying after a lost answer, two processes racing) commits once: the second insert fails
on the constraint, whatever the process, instead of a read-then-write check.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table

from labdesk.adapters.orm import metadata
from labdesk.adapters.types import UTCDateTime

handled_commands = Table(
    "handled_commands",
    metadata,
    Column("idempotency_key", String(64), primary_key=True),
    Column("command", String(80), nullable=False),
    Column("actor_id", ForeignKey("users.id")),
    Column("handled_at", UTCDateTime(), nullable=False),
    Index(None, "handled_at"),
)
