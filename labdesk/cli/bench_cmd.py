"""``labdesk bench``: speed figures against their floors."""

from __future__ import annotations

import sys

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
def bench(quick: bool, as_json: bool, only: tuple[str, ...]) -> None:
    """Measure p50/p95 of key operations and their ratio to a bare-SQL floor."""
    from bench import run  # deferred: the benchmarks ship beside the product, not in it

    code = run(
        quick=quick,
        as_json=as_json,
        out=sys.stdout,
        progress=lambda msg: click.echo(msg, err=True),
        only=only,
    )
    sys.exit(code)
