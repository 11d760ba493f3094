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
@click.option(
    "--stations",
    type=click.IntRange(min=2),
    default=None,
    help="network-load: simulated stations (default 25).",
)
@click.option(
    "--actions",
    type=click.IntRange(min=1),
    default=None,
    help="network-load: actions per station (default 200; --quick 20).",
)
@click.option(
    "--specimens",
    type=click.IntRange(min=0),
    default=None,
    help="network-load: specimens the database holds at least (default 10M).",
)
@click.option(
    "--fault",
    type=click.Choice(["restart"]),
    default=None,
    help="network-load: PostgreSQL restarted halfway (every connection dropped through a "
    "proxy, refused for a second; with --restart-command, that command is run instead).",
)
@click.option(
    "--restart-command",
    default=None,
    metavar="CMD",
    help="With --fault restart: restart YOUR OWN server, e.g. 'pg_ctl -D /tmp/pg restart'.",
)
def bench(
    quick: bool,
    as_json: bool,
    only: tuple[str, ...],
    database_url: str | None,
    compare: Path | None,
    stations: int | None,
    actions: int | None,
    specimens: int | None,
    fault: str | None,
    restart_command: str | None,
) -> None:
    """Measure p50/p95 of key operations and their ratio to a bare-SQL floor."""
    if compare is not None and database_url is None:
        raise click.UsageError("--compare goes with --database-url.")
    network = {
        "stations": stations,
        "actions_per_station": actions,
        "specimens": specimens,
        "fault": fault,
        "restart_command": restart_command,
    }
    given = {k: v for k, v in network.items() if v is not None}
    if given and "network-load" not in only:
        raise click.UsageError(
            "--stations, --actions, --specimens, --fault and --restart-command go with "
            "--only network-load."
        )
    if restart_command is not None and fault is None:
        raise click.UsageError("--restart-command goes with --fault restart.")
    from bench import run  # deferred: the benchmarks ship beside the product, not in it

    code = run(
        quick=quick,
        as_json=as_json,
        out=sys.stdout,
        progress=lambda msg: click.echo(msg, err=True),
        only=only,
        database_url=database_url,
        compare=compare,
        network=given,
    )
    sys.exit(code)
