"""The live-update feeds behind :class:`labdesk.kernel.changes.ChangeFeed` (issue 14).

:func:`open_change_feed` picks the feed for a database URL:

- PostgreSQL: :class:`~labdesk.adapters.change_feed.pg.PgChangeFeed`, one listening psycopg
  connection (``LISTEN labdesk_changes``) on its own thread, reconnecting by itself.
- SQLite file: :class:`~labdesk.adapters.change_feed.sqlite.SqliteChangeFeed`, a thread
  watching the file (and its ``-wal``) and reading the per-topic counters after a commit
  by any connection or process.
- in-memory SQLite: :class:`InertChangeFeed` (no other connection can change it).

The triggers that announce changes are in :mod:`labdesk.adapters.change_feed.triggers`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from labdesk.adapters.change_feed.pg import PgChangeFeed, conninfo_from_url
from labdesk.adapters.change_feed.sqlite import SqliteChangeFeed
from labdesk.adapters.database import parse_url, read_password_file, sqlite_path
from labdesk.kernel.changes import ChangeFeed, FeedState, OnChanges, OnState

__all__ = ["InertChangeFeed", "PgChangeFeed", "SqliteChangeFeed", "open_change_feed"]

logger = logging.getLogger(__name__)


class InertChangeFeed:
    """A feed that never reports a change: the database cannot be changed by anyone else.

    Used for an in-memory SQLite database (tests, throwaway demos): only this process's
    own connection sees it, and the screens reload after their own commands anyway.
    """

    statements = 0
    """SQL statements run (always 0)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        """Why this feed does nothing (logged at start)."""

    def start(self, on_changes: OnChanges, on_state: OnState) -> None:
        """Say LIVE (nothing can be missed) and log why nothing will come."""
        logger.info("live updates off: %s", self.reason)
        on_state(FeedState.LIVE)

    def stop(self) -> None:
        """Nothing to release."""


def open_change_feed(url: str, *, password_file: str = "") -> ChangeFeed:
    """The change feed for the database at ``url`` (not started: call ``start``).

    Args:
        url: the database URL, as given to ``make_engine``.
        password_file: a private file holding the PostgreSQL password (as ``make_engine``).

    Raises:
        StorageError: for a bad URL or an unusable password file.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "postgresql":
        if password_file:
            parsed = parsed.set(password=read_password_file(Path(password_file).expanduser()))
        return PgChangeFeed(conninfo_from_url(parsed))
    path = sqlite_path(parsed)
    if path is None:
        return InertChangeFeed(
            f"the SQLite database {parsed.database or ':memory:'} is not a plain file "
            "(in-memory or a file: URI), so no other station can change it"
        )
    return SqliteChangeFeed(path)
