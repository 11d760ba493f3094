"""Schema migrations (Alembic) run from code: ``labdesk db upgrade`` and app start."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from labdesk.adapters.database import describe, translate_error
from labdesk.domain.errors import SchemaError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> AlembicConfig:
    """Alembic configuration pointing at the packaged migration scripts."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revisions() -> frozenset[str]:
    """Newest schema revision(s) this program knows (one unless branches are in flight)."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads, "no migration scripts packaged"
    return frozenset(heads)


def head_revision() -> str:
    """The newest revision as text (``a+b`` while migration branches are unmerged)."""
    return "+".join(sorted(head_revisions()))


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands relative to this program."""

    current_heads: frozenset[str]
    heads: frozenset[str]

    @property
    def current(self) -> str | None:
        """The database's revision as text, None for an empty database."""
        return "+".join(sorted(self.current_heads)) or None

    @property
    def head(self) -> str:
        """This program's newest revision as text."""
        return "+".join(sorted(self.heads))

    @property
    def up_to_date(self) -> bool:
        """True when no migration is pending."""
        return self.current_heads == self.heads


def schema_state(engine: Engine) -> SchemaState:
    """Read the database's revision and check this program can work with it.

    Raises:
        SchemaError: if the database was written by a newer LabDesk.
        StorageError: if the database cannot be reached.
    """
    try:
        with engine.connect() as conn:
            current = frozenset(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        raise translate_error(exc, engine.url) from exc
    state = SchemaState(current_heads=current, heads=head_revisions())
    if current and not state.up_to_date:
        script = ScriptDirectory.from_config(alembic_config())
        known = {rev.revision for rev in script.walk_revisions()}
        if not current <= known:
            raise SchemaError(
                f"The database {describe(engine.url)} has schema version {state.current}, "
                f"written by a newer LabDesk; this program knows versions up to {state.head}.",
                hint="Install the newer LabDesk, or point LABDESK_DATABASE_URL at another "
                "database.",
            )
    return state


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; a no-op when already there.

    Each migration runs in a transaction, so a failure leaves nothing half-written
    (PostgreSQL and SQLite both have transactional DDL).

    Returns:
        The revision before and after.
    """
    state = schema_state(engine)
    if state.up_to_date:
        return state.current, state.head
    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except SQLAlchemyError as exc:
        raise translate_error(exc, engine.url) from exc
    logger.info(
        "database %s upgraded from %s to %s", describe(engine.url), state.current, state.head
    )
    return state.current, state.head


def require_current(engine: Engine) -> None:
    """Refuse to run on a database whose schema is behind or ahead of this program.

    Raises:
        SchemaError: with the command that fixes it.
    """
    state = schema_state(engine)
    if not state.up_to_date:
        raise SchemaError(
            f"The database {describe(engine.url)} needs an upgrade "
            f"(schema {state.current or 'empty'}, this program needs {state.head}).",
            hint="Run 'labdesk db upgrade' (back the database up first).",
        )
