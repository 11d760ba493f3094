"""The replica's change log (migration 0020, issue 12 item 1).

One row per write to a table the station replica holds, appended by the triggers of
:mod:`labdesk.adapters.replica.triggers` in the writing transaction; a station refresh
applies the entries after the last ``seq`` it applied.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from labdesk.adapters.orm import metadata
from labdesk.adapters.types import UTCDateTime

replica_log = Table(
    "replica_log",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer, "sqlite"),  # SQLite: INTEGER PRIMARY KEY is the rowid
        autoincrement=True,
        primary_key=True,
    ),
    Column("table_name", String(32), nullable=False),
    Column("row_id", String(64), nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
    Index(None, "changed_at"),
    sqlite_autoincrement=True,  # a seq is never reused, even after pruning
)
