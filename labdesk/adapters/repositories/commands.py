"""The command log's two statements: has a key been handled, and record that it was."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

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

        One statement, ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: a concurrent claim of
        the same key waits on the primary key (PostgreSQL) or the write lock (SQLite) and
        then inserts nothing, leaving the rest of the transaction usable without the
        savepoint (two more round trips per command) an ``IntegrityError`` would need.
        Any other violation (an actor this file lacks) still raises.
        """
        claimed = self.session.execute(
            _claim(self.session.get_bind().dialect.name),
            {"idempotency_key": key, "command": command, "actor_id": actor_id, "handled_at": at},
        ).first()
        return claimed is not None


@functools.cache
def _claim(dialect: str) -> ReturningInsert[Any]:
    """The claim statement, built once per dialect (building it per command cost more
    than running it on SQLite); the values come as execute parameters."""
    ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        ins(handled_commands)
        .on_conflict_do_nothing(index_elements=[handled_commands.c.idempotency_key])
        .returning(handled_commands.c.idempotency_key)
    )
