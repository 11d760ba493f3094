"""Command line: ``labdesk`` (admin and service jobs, and the app launcher).

Core commands live here. Commands that need Qt (``app``, ``demo``) or the printer layer
(``label``, ``print-test``) are contributed by the ``ui`` and ``printers`` packages through
the ``labdesk.commands`` entry-point group, so the core never imports them.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points
from typing import Any

import click

from labdesk import __version__
from labdesk.cli.audit_cmd import audit
from labdesk.cli.bench_cmd import bench
from labdesk.cli.catalog_cmd import catalog
from labdesk.cli.custody_cmd import custody
from labdesk.cli.db_cmd import db
from labdesk.cli.demo_cmd import seed_demo
from labdesk.cli.fhir_cmd import fhir
from labdesk.cli.hl7_cmd import hl7
from labdesk.cli.overdue_cmd import overdue
from labdesk.cli.users_cmd import users
from labdesk.domain.errors import LabdeskError
from labdesk.log_setup import install_redaction

logger = logging.getLogger(__name__)


class LabdeskGroup(click.Group):
    """A click group that turns expected errors into a clear message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting LabdeskError without a traceback."""
        try:
            return super().invoke(ctx)
        except LabdeskError as exc:
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
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_redaction()


cli.add_command(db)
cli.add_command(catalog)
cli.add_command(seed_demo)
cli.add_command(bench)
cli.add_command(custody)
cli.add_command(hl7)
cli.add_command(overdue)
cli.add_command(fhir)
cli.add_command(audit)
cli.add_command(users)


def _load_plugins() -> None:
    for entry in entry_points(group="labdesk.commands"):
        try:
            command = entry.load()
        except ImportError as exc:  # e.g. Qt libraries missing on a headless server
            logger.warning("command %s unavailable: %s", entry.name, exc)
            continue
        cli.add_command(command, entry.name)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _load_plugins()
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="labdesk")
