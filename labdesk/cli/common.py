"""Helpers shared by the command modules."""

from __future__ import annotations

import click

from labdesk.bootstrap import Core, bootstrap
from labdesk.config import Config, load_config
from labdesk.services.audit import record_if_denied

_CORE = "labdesk.core"
"""Key of the command's core in ``click.Context.meta`` (shared by the whole context chain)."""


def open_core(config: Config | None = None) -> Core:
    """Load the config and open the core (SQLite is upgraded at start).

    The core is remembered for the command's error path: a role denial the command raises
    is audited there (:func:`audit_denial`), after the command's own transaction rolled back.
    """
    core = bootstrap(config or load_config())
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
