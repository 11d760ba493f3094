"""``labdesk print-test`` and ``labdesk label ...``: printing from the command line.

Contributed to the ``labdesk`` command through the ``labdesk.commands`` entry-point group,
so the core never imports the printer layer. This module is a composition root like
``ui/app.py``: it is the one place in ``printers`` that opens the core (see the import
contract's exception in pyproject.toml). Expected problems exit with code 2 and a message
saying what is wrong and how to fix it; a print job, once created, is always kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click

from labdesk.bootstrap import Core
from labdesk.cli.common import open_core
from labdesk.domain.errors import LabdeskError
from labdesk.domain.printing import LabelContent, PrintJobKind, PrintJobStatus
from labdesk.domain.timefmt import format_local
from labdesk.printing.commands import ExportLabel, PrintSpecimenLabels, PrintTestLabel, ReprintJob
from labdesk.printing.dto import PrintJobRow, PrintSetup
from labdesk.printing.label_content import TEST_ACCESSION
from labdesk.printing.spooler import process_due_jobs
from labdesk.printing.station_printers import label_printer_uri
from labdesk.printing.views import list_print_jobs, printer_status
from printers.errors import PrinterError
from printers.image import render_png
from printers.layout import layout_label
from printers.pdf import render_pdf
from printers.presets import get_preset, preset_names
from printers.private_files import write_private
from printers.spool_adapter import LabelRendererAdapter, open_spool_printer
from printers.zpl import render_labels_zpl

FORMATS = ("zpl", "pdf", "png")
SPOOL_HINT = (
    "Fix the printer or its address (Admin page, or --printer); queued jobs are then sent "
    "by the app or 'labdesk label spool'. 'labdesk label queue' lists the jobs."
)
TEST_HINT = "Fix the printer or its address (Admin page, or --printer) and test again."


class PrintNotDone(LabdeskError):
    """A job was created but has not printed (queued, failed or unconfirmed)."""


@contextmanager
def _session() -> Iterator[tuple[Core, PrintSetup]]:
    core = open_core()
    try:
        yield core, PrintSetup.from_config(core.config, open_spool_printer, LabelRendererAdapter())
    finally:
        core.close()


def _when(core: Core, row: PrintJobRow) -> str:
    return format_local(row.next_attempt_at, core.config.clinic_timezone, "%H:%M:%S")


def _outcome(core: Core, row: PrintJobRow) -> str:
    """One line per job; raises nothing."""
    kind = "Test label job" if row.kind is PrintJobKind.TEST else "Label job"
    what = f"{kind} {row.id}" + (f" ({row.accession})" if row.accession else "")
    if row.printed:
        return f"{what}: printed on {row.printer_uri}."
    if row.unconfirmed:
        return f"{what}: UNCONFIRMED. {row.last_error}"
    if row.status is PrintJobStatus.QUEUED:
        return (
            f"{what}: kept in the queue, not printed yet: {row.last_error} It is sent "
            f"automatically when the printer answers (next try at {_when(core, row)}, by the "
            "app or 'labdesk label spool')."
        )
    return f"{what}: FAILED and kept in the queue: {row.last_error}"


def _report(core: Core, rows: list[PrintJobRow], hint: str = SPOOL_HINT) -> None:
    """Print each job's outcome; exit 2 through PrintNotDone if any did not print."""
    problems = []
    for row in rows:
        line = _outcome(core, row)
        if row.printed:
            click.echo(line)
        else:
            problems.append(line)
    if problems:
        raise PrintNotDone(" ".join(problems), hint=hint)


@click.command("print-test")
@click.option("--printer", "printer_uri", help="Printer URI; default: this station's printer.")
@click.option("--preset", help="Label preset; default: label_preset from the config.")
def print_test(printer_uri: str | None, preset: str | None) -> None:
    """Report a printer's status, then print a test label (a fake accession that scans)."""
    with _session() as (core, setup):
        if preset is not None:
            get_preset(preset)  # a clear error before anything is queued
            setup = _with_preset(setup, preset)
        uri = printer_uri or _station_printer(core, setup)
        state = printer_status(setup.opener, uri)
        click.echo(f"Printer {uri or '(none)'}: {state.summary}")
        row = core.bus.handle(PrintTestLabel(setup=setup, printer_uri=uri))
        if row.printed:
            click.echo(f"Test label printed (job {row.id}); scan it: it reads {TEST_ACCESSION}.")
            return
        _report(core, [row], TEST_HINT)


@click.group()
def label() -> None:
    """Render and print specimen labels; look after the print queue."""


@label.command("render")
@click.option("--accession", required=True, help="The specimen's accession ID.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--preset", help=f"Label preset ({', '.join(preset_names())}).")
def render(accession: str, fmt: str, output: Path, preset: str | None) -> None:
    """Render a specimen's label to a ZPL, PDF or PNG file (nothing is printed)."""
    with _session() as (core, setup):
        chosen = get_preset(preset or setup.labels.preset)

        def write(content: LabelContent) -> None:
            if fmt == "png":
                data = render_png(layout_label(content, chosen), border=True)
            elif fmt == "pdf":
                data = render_pdf([content], chosen)
            else:
                data = render_labels_zpl([content], chosen)
            _write(output, data)

        command = ExportLabel(station_code=setup.station_code, accession=accession, write=write)
        content = core.bus.handle(command)
    click.echo(f"Wrote the label of {content.accession} ({chosen.name}, {fmt}) to {output}.")


@label.command("print")
@click.option("--accession", "accessions", required=True, multiple=True, help="Repeatable.")
@click.option("--printer", "printer_uri", help="Printer URI; default: this station's printer.")
def print_(accessions: tuple[str, ...], printer_uri: str | None) -> None:
    """Print specimens' labels (primary and aliquot labels) as spooled jobs."""
    with _session() as (core, setup):
        command = PrintSpecimenLabels(setup=setup, accessions=accessions, printer_uri=printer_uri)
        _report(core, core.bus.handle(command))


@label.command("reprint")
@click.argument("job_id", type=int)
@click.option("--reason", required=True, help="Why the label is printed again.")
@click.option("--printer", "printer_uri", help="Printer URI; default: this station's printer.")
def reprint(job_id: int, reason: str, printer_uri: str | None) -> None:
    """Reprint a label job exactly as first printed, marked REPRINT n."""
    with _session() as (core, setup):
        command = ReprintJob(setup=setup, job_id=job_id, reason=reason, printer_uri=printer_uri)
        _report(core, [core.bus.handle(command)])


@label.command("spool")
@click.option("--all-stations", is_flag=True, help="Send due jobs of every station.")
def spool(all_stations: bool) -> None:
    """Send queued jobs whose retry is due (what the app does in the background)."""
    with _session() as (core, setup):
        station = None if all_stations else setup.station_code
        report = process_due_jobs(core.uow, core.clock, setup.opener, station_code=station)
    click.echo(
        f"Printed {len(report.done)}, waiting for the printer {len(report.retrying)}, "
        f"failed {len(report.failed)}, unconfirmed {len(report.unconfirmed)}."
    )


@label.command("queue")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 1000))
def queue(limit: int) -> None:
    """List this station's newest print jobs."""
    with _session() as (core, setup):
        rows = core.bus.query(list_print_jobs, None, station_code=setup.station_code, limit=limit)
    tz = core.config.clinic_timezone
    click.echo(f"{'JOB':>6}  {'CREATED':<16}  {'ACCESSION':<10}  {'STATUS':<11}  TRIES  ERROR")
    for r in rows:
        status = "unconfirmed" if r.unconfirmed else r.status.value
        click.echo(
            f"{r.id:>6}  {format_local(r.created_at, tz):<16}  {r.accession or '-':<10}  "
            f"{status:<11}  {r.attempts:>5}  {r.last_error[:60]}"
        )


def _station_printer(core: Core, setup: PrintSetup) -> str:
    return core.bus.query(label_printer_uri, setup)


def _with_preset(setup: PrintSetup, preset: str) -> PrintSetup:
    return replace(setup, labels=replace(setup.labels, preset=preset))


def _write(output: Path, data: bytes) -> None:
    try:
        write_private(output, data)  # name, date of birth and MRN: owner-only
    except OSError as exc:
        raise PrinterError(
            f"Cannot write {output}: {exc.strerror or exc}.",
            hint="Choose a writable file with -o.",
        ) from exc
