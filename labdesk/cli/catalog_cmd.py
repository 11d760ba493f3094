"""``labdesk catalog``: list the test catalog, import a lab's compendium."""

from __future__ import annotations

from pathlib import Path

import click

from labdesk.catalog.commands import ImportCatalog
from labdesk.catalog.compendium import list_catalog
from labdesk.cli.common import open_core


@click.group()
def catalog() -> None:
    """Test catalog commands."""


@catalog.command("list")
def list_() -> None:
    """Print every test with its container and turnaround."""
    core = open_core(create=False)
    try:
        rows = core.bus.query(list_catalog)
    finally:
        core.close()
    header = f"{'CODE':<8} {'LOINC':<9} {'NAME':<44} {'CONTAINER':<7} {'CAP':<12} {'VOL mL':>7} "
    click.echo(header + f"{'TRANSPORT':<12} {'TAT':>6} {'STAT':>5}")
    for r in rows:
        stat = f"{r.stat_tat_min}" if r.stat_tat_min is not None else "-"
        click.echo(
            f"{r.code:<8} {r.loinc:<9} {r.name[:44]:<44} {r.container_code:<7} "
            f"{r.cap_colour[:12]:<12} {r.preferred_volume_ml:>7g} "
            f"{r.transport_temperature.value:<12} {r.routine_tat_min:>6} {stat:>5}"
        )
    click.echo(f"{len(rows)} tests (turnaround in minutes from collection).")


@catalog.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def import_(file: Path) -> None:
    """Import a compendium CSV (tests, timed-draw series, patient preparation, pediatric
    tubes: recognised by its header): all rows or, if any is bad, none."""
    core = open_core()
    try:
        imported = core.bus.handle(ImportCatalog(path=file))
    finally:
        core.close()
    click.echo(imported.summary(str(file)))
