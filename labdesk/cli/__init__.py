"""Command line: ``labdesk`` (admin and service jobs, and the app launcher).

Core commands live here. Commands that need Qt (``app``, ``demo``) or the printer layer
(``label``, ``print-test``) are contributed by the ``ui`` and ``printers`` packages through
the ``labdesk.commands`` entry-point group, so the core never imports them.
"""

from __future__ import annotations

import importlib
import logging
import sys
from importlib.metadata import entry_points
from typing import Any

import click

from labdesk import __version__
from labdesk.config import default_data_dir
from labdesk.domain.errors import LabdeskError, PermissionDenied
from labdesk.log_setup import setup_logging

logger = logging.getLogger(__name__)


# Core commands, imported only when used: ``labdesk app`` must not pay for SQLAlchemy and
# the rest before its first window paints.
CORE_COMMANDS = {
    "audit": "labdesk.cli.audit_cmd:audit",
    "bench": "labdesk.cli.bench_cmd:bench",
    "catalog": "labdesk.cli.catalog_cmd:catalog",
    "custody": "labdesk.cli.custody_cmd:custody",
    "db": "labdesk.cli.db_cmd:db",
    "fhir": "labdesk.cli.fhir_cmd:fhir",
    "hl7": "labdesk.cli.hl7_cmd:hl7",
    "overdue": "labdesk.cli.overdue_cmd:overdue",
    "replica": "labdesk.cli.replica_cmd:replica",
    "seed-demo": "labdesk.cli.demo_cmd:seed_demo",
    "sync": "labdesk.cli.sync_cmd:sync",
    "users": "labdesk.cli.users_cmd:users",
}


def _load(target: str) -> click.Command:
    module_name, _, attr = target.partition(":")
    command = getattr(importlib.import_module(module_name), attr)
    assert isinstance(command, click.Command), target
    return command


class LabdeskGroup(click.Group):
    """Lazily loaded commands; expected errors become a clear message and exit code 2.

    Core commands come from ``CORE_COMMANDS``; the ``ui`` and ``printers`` packages add theirs
    through the ``labdesk.commands`` entry-point group.
    """

    def _lazy(self) -> dict[str, str]:
        lazy = dict(CORE_COMMANDS)
        for entry in entry_points(group="labdesk.commands"):
            lazy.setdefault(entry.name, entry.value)
        return lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, without importing them."""
        return sorted({*super().list_commands(ctx), *self._lazy()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import a command the first time it is asked for."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        target = self._lazy().get(cmd_name)
        if target is None:
            return None
        try:
            command = _load(target)
        except ImportError as exc:  # e.g. Qt libraries missing on a headless server
            logger.warning("command %s unavailable: %s", cmd_name, exc)
            return None
        self.add_command(command, cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting LabdeskError without a traceback (denials audited).

        A database driver's error that escaped the command (a damaged SQLite page read
        through a raw cursor, say) is reported the same way, as the StorageError it means.
        """
        try:
            return super().invoke(ctx)
        except LabdeskError as exc:
            if isinstance(exc, PermissionDenied):
                from labdesk.cli.common import audit_denial  # loaded already by the command

                audit_denial(ctx, exc)
            _report(ctx, exc)
        except click.exceptions.Exit:
            raise
        except Exception as exc:
            from labdesk.cli.common import database_error

            translated = database_error(ctx, exc)
            if translated is None:
                raise
            logger.info("database failure", exc_info=exc)  # the file only: no traceback
            _report(ctx, translated)


def _report(ctx: click.Context, exc: LabdeskError) -> None:
    click.secho(f"Error: {exc.message}", fg="red", err=True)
    if exc.hint:
        click.echo(f"  What to do: {exc.hint}", err=True)
    for problem in getattr(exc, "problems", [])[5:]:
        click.echo(f"  {problem}", err=True)
    ctx.exit(2)


@click.group(cls=LabdeskGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="labdesk")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def cli(verbose: bool) -> None:
    """LabDesk: specimen collection, labels, custody and result follow-up."""
    # Every command, services and ``app``/``demo`` included, logs like the app: redacted,
    # into the data directory's owner-only log file.
    setup_logging(default_data_dir(), verbose=verbose)


def _load_plugins() -> None:
    """Load every command now (tests that inspect ``cli.commands`` call this)."""
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        cli.get_command(ctx, name)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="labdesk")
