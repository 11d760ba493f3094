"""``labdesk overdue``: the escalation sweep, overdue counts, coverage, board rebuild."""

from __future__ import annotations

import click

from labdesk.cli.common import open_core
from labdesk.domain.overdue import FlagReason
from labdesk.results.board import overdue_tally
from labdesk.results.commands import EscalateOverdueCriticals, RebuildBoard, SetCoveringClinician
from labdesk.results.overdue_settings import overdue_settings


@click.group()
def overdue() -> None:
    """Overdue tracking: escalations and counts (no patient data is printed)."""


@overdue.command()
def sweep() -> None:
    """Escalate critical results left unacknowledged past policy (idempotent; run from cron).

    The clinician board runs the same sweep every minute while it is open; this command
    covers nights and weekends when no board is.
    """
    core = open_core()
    try:
        settings = overdue_settings(core.config)
        command = EscalateOverdueCriticals(
            policy=settings.policy, default_covering=settings.default_covering
        )
        sent = core.bus.handle(command)
    finally:
        core.close()
    for item in sent:
        to = item.to_name or "NOBODY (no covering clinician configured)"
        click.echo(f"ordered test {item.ordered_test_id}: escalated to {to}")
    click.echo(f"{len(sent)} escalation(s) recorded.")


@overdue.command()
def counts() -> None:
    """How many open tests are overdue, by reason (read from the clinician board's table)."""
    core = open_core(create=False)
    try:
        settings = overdue_settings(core.config)
        # A query: the refresh of the board table it starts with commits itself.
        open_tests, tally = core.bus.query(overdue_tally, core.clock, settings.policy)
    finally:
        core.close()
    click.echo(f"{open_tests:,} open ordered tests")
    for reason in FlagReason:
        click.echo(f"{tally.get(reason, 0):>8,}  {reason.label}")


@overdue.command("rebuild-board")
def rebuild_board_cmd() -> None:
    """Recompute every clinician board entry (after restoring a backup, or to check).

    The board refreshes itself: triggers queue every changed test and a changed policy,
    catalog or route rebuilds it at the next load. This forces that rebuild now.
    """
    core = open_core()
    try:
        settings = overdue_settings(core.config)
        with click.progressbar(length=1, label="Rebuilding the board") as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            outcome = core.bus.handle(RebuildBoard(policy=settings.policy, progress=progress))
    finally:
        core.close()
    click.echo(f"{outcome.updated:,} ordered tests on the board (version {outcome.version}).")


@overdue.command()
@click.argument("clinician")
@click.argument("covering")
def cover(clinician: str, covering: str) -> None:
    """Make user COVERING the covering clinician of user CLINICIAN (both clinicians)."""
    core = open_core()
    try:
        core.bus.handle(SetCoveringClinician(clinician=clinician, covering=covering))
    finally:
        core.close()
    click.echo(f"{covering} now covers {clinician}'s unacknowledged critical results.")
