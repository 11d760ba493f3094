"""``labdesk db``: schema upgrade and status."""

from __future__ import annotations

import click

from labdesk.adapters import migrate
from labdesk.adapters.database import (
    check_connection,
    check_sqlite_integrity,
    describe,
    make_engine,
)
from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork
from labdesk.config import load_config
from labdesk.services.catalog import ensure_shipped_catalog


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command()
def upgrade() -> None:
    """Create or upgrade the schema to this version (safe to run again)."""
    config = load_config()
    engine = make_engine(config.database_url, password_file=config.database_password_file)
    try:
        check_connection(engine)
        before, after = migrate.upgrade(engine)
        uow = SqlAlchemyUnitOfWork(engine)
        with uow:
            loaded = ensure_shipped_catalog(uow)
            uow.commit()
    finally:
        engine.dispose()
    where = describe(engine.url)
    if before == after:
        click.echo(f"{where}: schema already at {after}; nothing to do.")
    else:
        click.echo(f"{where}: schema upgraded from {before or 'empty'} to {after}.")
    if loaded:
        click.echo("Loaded the shipped test catalog.")


@db.command()
def status() -> None:
    """Show the database and whether its schema is current.

    Changes nothing: a missing SQLite file is reported, not created; an empty or damaged
    one (every page is read) is reported with what to do.
    """
    config = load_config()
    engine = make_engine(
        config.database_url, password_file=config.database_password_file, create=False
    )
    try:
        check_connection(engine)
        check_sqlite_integrity(engine)
        state = migrate.schema_state(engine)
    finally:
        engine.dispose()
    click.echo(f"Database: {describe(engine.url)}")
    click.echo(f"Schema:   {state.current or 'empty'} (this program: {state.head})")
    if not state.up_to_date:
        click.echo("Run 'labdesk db upgrade' to bring it up to date.")
