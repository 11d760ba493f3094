"""Helpers shared by the command modules."""

from __future__ import annotations

import click

from labdesk.bootstrap import Core, bootstrap
from labdesk.config import Config, load_config
from labdesk.domain.errors import LabdeskError
from labdesk.kernel.audit import record_if_denied

_CORE = "labdesk.core"
"""Key of the command's core in ``click.Context.meta`` (shared by the whole context chain)."""


def open_core(config: Config | None = None, *, create: bool = True) -> Core:
    """Load the config and open the core (SQLite is upgraded at start).

    ``create=False`` for commands that only read: a missing SQLite file, or one without a
    LabDesk schema, is refused with what is wrong instead of created empty.

    The core is remembered for the command's error path: a role denial the command raises
    is audited there (:func:`audit_denial`), after the command's own transaction rolled back.
    """
    core = bootstrap(config or load_config(), create=create)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_CORE] = core
    return core


def audit_denial(ctx: click.Context, error: BaseException) -> None:
    """Audit ``error`` if it is a role denial, on the database the command opened.

    Commands close their core in ``finally``; the closed engine opens a fresh pool for
    this one short unit of work and is closed again afterwards.
    """
    core = ctx.meta.get(_CORE)
    if not isinstance(core, Core):
        return
    try:
        record_if_denied(core.uow, core.clock, error)
    finally:
        core.close()


def database_error(ctx: click.Context, error: BaseException) -> LabdeskError | None:
    """A driver or SQLAlchemy error that escaped a command, as a StorageError to print.

    A raw cursor (custody verify streams rows through one) raises the driver's own error
    on a damaged page; the user gets what is wrong and the fix, never a traceback.
    """
    from labdesk.adapters.database import is_database_error, parse_url, translate_error

    if not is_database_error(error):
        return None
    core = ctx.meta.get(_CORE)
    if isinstance(core, Core):
        url = core.engine.url
    else:
        try:
            url = parse_url(load_config().database_url)
        except LabdeskError:
            return None
    return translate_error(error, url)
