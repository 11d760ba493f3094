"""Alembic environment: runs on the connection LabDesk hands in (see migrate.py)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import types as sa_types

from labdesk.adapters.orm import metadata
from labdesk.adapters.types import StrEnumType, UTCDateTime


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render LabDesk's column types as plain SQLAlchemy types in migration scripts."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, StrEnumType):
        impl = obj.impl
        length = impl.length if isinstance(impl, sa_types.String) else 32
        return f"sa.String(length={length})"
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
