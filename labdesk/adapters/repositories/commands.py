"""The command log's two statements: has a key been handled, and record that it was."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from labdesk.adapters.orm.commands import handled_commands
from labdesk.adapters.repositories import _Repository


class CommandLogRepository(_Repository):
    """Idempotency keys of handled commands (``handled_commands``)."""

    def handled_at(self, key: str) -> datetime | None:
        """When the command with ``key`` was handled, or None when it never was."""
        found: datetime | None = self.session.execute(
            select(handled_commands.c.handled_at).where(handled_commands.c.idempotency_key == key)
        ).scalar_one_or_none()
        return found

    def claim(self, key: str, command: str, actor_id: int | None, at: datetime) -> bool:
        """Insert ``key`` in this transaction; False when another transaction holds it.

        The insert runs at once inside a savepoint, so a concurrent claim of the same key
        waits on the primary key (PostgreSQL) or the write lock (SQLite) and then fails
        here, leaving the rest of the transaction usable.
        """
        try:
            with self.session.begin_nested():
                self.session.execute(
                    insert(handled_commands).values(
                        idempotency_key=key, command=command, actor_id=actor_id, handled_at=at
                    )
                )
        except IntegrityError:
            if self.handled_at(key) is None:  # not the key: e.g. an actor this file lacks
                raise
            return False
        return True
