"""``labdesk bench``: speed figures against their floors (SQLite, or PostgreSQL by URL)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option("--quick", is_flag=True, help="Smaller databases and fewer iterations.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--only",
    "only",
    multiple=True,
    metavar="NAME",
    help="Build and measure only this scenario (repeatable), e.g. --only hl7-ingest.",
)
@click.option(
    "--database-url",
    "database_url",
    metavar="URL",
    default=None,
    help="Measure on PostgreSQL: postgresql+psycopg://USER@HOST:PORT/DB (the password may "
    "come from PGPASSFILE or ~/.pgpass). Worlds are built next to DB as DB_w<size>.",
)
@click.option(
    "--compare",
    "compare",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With --database-url: a 'labdesk bench --json' SQLite report to compare against.",
)
def bench(
    quick: bool,
    as_json: bool,
    only: tuple[str, ...],
    database_url: str | None,
    compare: Path | None,
) -> None:
    """Measure p50/p95 of key operations and their ratio to a bare-SQL floor."""
    if compare is not None and database_url is None:
        raise click.UsageError("--compare goes with --database-url.")
    from bench import run  # deferred: the benchmarks ship beside the product, not in it

    code = run(
        quick=quick,
        as_json=as_json,
        out=sys.stdout,
        progress=lambda msg: click.echo(msg, err=True),
        only=only,
        database_url=database_url,
        compare=compare,
    )
    sys.exit(code)
