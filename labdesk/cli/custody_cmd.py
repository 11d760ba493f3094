"""``labdesk custody``: verify the tamper-evident custody chains; report a specimen lost."""

from __future__ import annotations

import sys
from typing import Any

import click

from labdesk.cli.common import open_core
from labdesk.cli.hl7_cmd import PASSWORD_ENV, sign_in
from labdesk.custody.commands import ReportLost
from labdesk.custody.verify import PROGRESS_EVERY, verify_chains
from labdesk.domain.loss import LossReason, checked_loss

#: Exit status when the chains show tampering (2 stays "could not run", as for every command).
TAMPERED = 1


@click.group()
def custody() -> None:
    """Chain-of-custody commands."""


@custody.command()
@click.option("--quiet", is_flag=True, help="No progress bar; print only what was found.")
def verify(quiet: bool) -> None:
    """Recompute every specimen chain and the clinic-wide chain.

    Prints every modified, deleted or inserted event and exits with status 1 when any is
    found (0 when the chains are intact, 2 when the check could not run).
    """
    core = open_core(create=False)
    bar: Any = None
    try:

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if quiet or total < PROGRESS_EVERY:  # short runs finish before a bar helps
                return
            if bar is None:
                bar = click.progressbar(
                    length=total, label="Verifying custody events", file=sys.stderr
                ).__enter__()
            bar.update(done - bar.pos)

        report = core.bus.query(verify_chains, progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        core.close()
    summary = (
        f"{report.events:,} custody events of {report.specimens:,} specimens checked "
        f"in {report.seconds:.1f} s"
    )
    if not report.anchored and report.events:
        summary += " (no anchored head yet: a cut-off end would show only in the counter)"
    if report.ok:
        click.echo(f"{summary}: both chains intact.")
        return
    problems = len(report.findings) + len(report.guards)
    click.secho(f"{summary}: {problems} problem(s) found.", fg="red", err=True)
    for guard in report.guards:
        click.echo(f"UNGUARDED custody_events: {guard}")
    for finding in report.findings:
        where = f"event {finding.event_id}" if finding.event_id is not None else "chain"
        click.echo(f"{finding.kind.value.upper():9} {finding.chain:8} {where}: {finding.message}")
    sys.exit(TAMPERED)


@custody.command("report-lost")
@click.argument("accession")
@click.option(
    "--reason",
    required=True,
    type=click.Choice([r.value for r in LossReason], case_sensitive=False),
    help="Coded loss reason: " + "; ".join(f"{r.value} = {r.label}" for r in LossReason) + ".",
)
@click.option("--note", default="", help="What happened (required with --reason other).")
@click.option("--location", required=True, help="Where the loss was noticed, e.g. 'Route 2'.")
@click.option(
    "--user",
    "username",
    required=True,
    help=f"Your user name (password: prompt or ${PASSWORD_ENV}).",
)
def report_lost(accession: str, reason: str, note: str, location: str, username: str) -> None:
    """Report specimen ACCESSION lost and request its recollection."""
    code, note = checked_loss(reason, note)  # refused before the password prompt
    core = open_core(create=False)
    try:
        actor = sign_in(core, username)
        task_id = core.bus.handle(
            ReportLost(accession=accession, reason=code, note=note, location=location), actor
        )
    finally:
        core.close()
    click.echo(
        f"{accession.strip()} reported lost ({code.label.lower()}); "
        f"recollection task {task_id} is on the station worklist."
    )
