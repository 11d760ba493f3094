"""Composition root of the core: config -> engine -> schema check -> unit-of-work factory."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine

from labdesk.adapters import migrate
from labdesk.adapters.chain_anchor import AnchorFile
from labdesk.adapters.database import check_connection, describe, make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.config import Config, anchor_path
from labdesk.domain.clock import Clock, SystemClock
from labdesk.domain.errors import StorageError
from labdesk.kernel.messagebus import MessageBus

logger = logging.getLogger(__name__)


@dataclass
class Core:
    """Everything a front end (Qt app, CLI, HL7 service) needs from the core."""

    config: Config
    engine: Engine
    uow: UnitOfWorkFactory
    clock: Clock = field(default_factory=SystemClock)

    @property
    def bus(self) -> MessageBus:
        """Runs commands and queries over this core's units of work and clock."""
        return MessageBus(self.uow, self.clock)

    @property
    def database_description(self) -> str:
        """Password-free name of the database for status bars and logs."""
        return describe(self.engine.url)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def bootstrap(
    config: Config,
    *,
    clock: Clock | None = None,
    auto_upgrade: bool | None = None,
    create: bool = True,
    interactive: bool = False,
) -> Core:
    """Connect to the configured database and check its schema.

    A SQLite database (one workstation) is upgraded in place at start; a PostgreSQL one is
    shared, so its upgrade is an explicit admin step (``labdesk db upgrade``). A missing
    SQLite file is created (the zero set-up first start) unless ``create`` is False: a
    command that only reads refuses a missing file, or one without a LabDesk schema, rather
    than report on an empty database it made. A zero-length file is always refused (a
    truncated database must not be given a fresh schema).

    ``interactive`` (the app's screens) bounds every statement and lock wait by
    ``config.interactive_timeout_ms``, so a busy table never freezes a window.

    Raises:
        StorageError: database unreachable, locked, read-only, missing, empty, or bad URL.
        SchemaError: schema behind (PostgreSQL) or newer than this program.
    """
    engine = make_engine(
        config.database_url,
        password_file=config.database_password_file,
        create=create,
        empty_ok=False,
        timeout_ms=config.interactive_timeout_ms if interactive else 0,
    )
    try:
        check_connection(engine)
        if not create:
            _require_schema(engine)
        upgrade = engine.dialect.name == "sqlite" if auto_upgrade is None else auto_upgrade
        if upgrade:
            migrate.upgrade(engine)
        else:
            migrate.require_current(engine)
        anchors = AnchorFile(anchor_path(config), describe(engine.url), config.chain_anchor_every)
        core = Core(config=config, engine=engine, uow=UnitOfWorkFactory(engine, anchors))
        if clock is not None:
            core.clock = clock
        if upgrade:
            with core.uow() as uow:
                ensure_shipped_catalog(uow)
                uow.commit()
    except BaseException:
        engine.dispose()
        raise
    logger.info("core ready on %s", core.database_description)
    return core


def _require_schema(engine: Engine) -> None:
    """Refuse a database holding no LabDesk schema at all (never set up, or wiped)."""
    if migrate.schema_state(engine).current is None:
        raise StorageError(
            f"The database {describe(engine.url)} holds no LabDesk data: it is empty or "
            "was never set up.",
            hint="Check LABDESK_DATABASE_URL names the clinic's database; restore it from "
            "a backup if it was wiped, or run 'labdesk db upgrade' to set up a new one.",
        )
