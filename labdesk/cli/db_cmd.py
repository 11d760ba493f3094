"""``labdesk db``: schema upgrade and status."""

from __future__ import annotations

import click
from sqlalchemy import Engine

from labdesk.adapters import migrate
from labdesk.adapters.chain_anchor import AnchorFile
from labdesk.adapters.database import (
    check_connection,
    check_sqlite_integrity,
    describe,
    make_engine,
)
from labdesk.adapters.roles import describe_setup, grant_app_role
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.commands import LoadShippedCatalog
from labdesk.config import Config, anchor_path, load_config
from labdesk.domain.clock import SystemClock
from labdesk.kernel.messagebus import MessageBus


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
        loaded = MessageBus(UnitOfWorkFactory(engine), SystemClock()).handle(LoadShippedCatalog())
        roles = _split_roles(engine, config)
    finally:
        engine.dispose()
    where = describe(engine.url)
    if before == after:
        click.echo(f"{where}: schema already at {after}; nothing to do.")
    else:
        click.echo(f"{where}: schema upgraded from {before or 'empty'} to {after}.")
    if loaded:
        click.echo("Loaded the shipped test catalog.")
    if roles:
        click.echo(roles)


def _split_roles(engine: Engine, config: Config) -> str:
    """Grant the application role its rights and anchor both chain heads (issue 15).

    Returns:
        What to tell the administrator ("" on SQLite).
    """
    setup = grant_app_role(engine, config.app_role)
    anchors = AnchorFile(anchor_path(config), describe(engine.url), config.chain_anchor_every)
    anchors.write_now(engine)
    return describe_setup(setup, engine) if setup is not None else ""


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
