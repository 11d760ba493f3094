"""The SQLite live-update counters (migration 0013): one row per change topic.

The change-feed triggers (:mod:`labdesk.adapters.change_feed.triggers`) bump ``seq`` of a
topic in every writing transaction on SQLite; the SQLite change feed reads the counters
after it notices a commit on the file. The table exists on PostgreSQL too (so both
backends have one schema) but stays empty there: PostgreSQL announces changes with
``pg_notify`` instead of a hot row every writer would queue on.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

from labdesk.adapters.orm import metadata

change_counters = Table(
    "change_counters",
    metadata,
    Column("topic", String(32), primary_key=True),
    Column("seq", Integer, nullable=False),
)
