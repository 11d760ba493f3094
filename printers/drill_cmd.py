"""``labdesk downtime drill``: the scripted outage drill, printing to a virtual printer.

Contributed through the ``labdesk.commands`` entry-point group like ``printers.commands``:
the drill prints labels, and the label renderer and printer transports live here, outside
the core. The drill itself is :func:`labdesk.downtime.drill.run_drill`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from labdesk.config import load_config
from labdesk.downtime.drill import DrillOptions, run_drill
from labdesk.printing.dto import PrintSetup
from printers.spool_adapter import LabelRendererAdapter, open_spool_printer


@click.group()
def downtime() -> None:
    """Downtime: rehearse an outage before a planned one."""


@downtime.command("drill")
@click.option(
    "--database-url",
    "database_url",
    help="The clinic's PostgreSQL server (default: the configured database).",
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the drill's station files and printed labels go (default: a temporary folder).",
)
@click.option("--visits", default=2, show_default=True, type=click.IntRange(1, 50))
def drill(database_url: str | None, workdir: Path | None, visits: int) -> None:
    """Cut two drill stations off the server, work offline, reconnect, and check the result.

    Adds a synthetic drill clinic (names start with DRILL) to the server. Exits 1 when an
    offline action was lost or applied twice, or a chain does not verify.
    """
    url = database_url or load_config().database_url
    config = load_config()

    def setup(station: str, printer_uri: str) -> PrintSetup:
        return PrintSetup(
            station_code=station,
            opener=open_spool_printer,
            renderer=LabelRendererAdapter(),
            label_printer_override=printer_uri,
            timezone=config.clinic_timezone,
        )

    with tempfile.TemporaryDirectory(prefix="labdesk-drill-") as scratch:
        root = workdir or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        report = run_drill(
            url,
            root,
            setup,
            options=DrillOptions(visits_per_station=visits),
            progress=click.echo,
        )
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo(report.line())
    if not report.ok:
        raise SystemExit(1)
