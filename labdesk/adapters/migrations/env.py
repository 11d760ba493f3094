"""Alembic environment: runs on the connection LabDesk hands in (see migrate.py)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from labdesk.adapters.orm import metadata
from labdesk.adapters.types import StrEnumType, UTCDateTime


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render LabDesk's column types as plain SQLAlchemy types in migration scripts."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, StrEnumType):
        return f"sa.String(length={obj.length})"
    return False


def run_migrations() -> None:
    """Run migrations on ``config.attributes['connection']``."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
