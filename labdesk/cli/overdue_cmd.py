"""``labdesk overdue``: the escalation sweep as a headless job, and overdue counts."""

from __future__ import annotations

from collections import Counter

import click

from labdesk.cli.common import open_core
from labdesk.domain.overdue import FlagReason, posix
from labdesk.services.overdue import escalate_overdue_criticals, evaluate_rows
from labdesk.services.overdue_settings import load_overdue_settings


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
        settings = load_overdue_settings(core.config.clinic_timezone)
        sent = escalate_overdue_criticals(
            core.uow(), core.clock, settings.policy, settings.default_covering
        )
    finally:
        core.close()
    for item in sent:
        to = item.to_name or "NOBODY (no covering clinician configured)"
        click.echo(f"ordered test {item.ordered_test_id}: escalated to {to}")
    click.echo(f"{len(sent)} escalation(s) recorded.")


@overdue.command()
def counts() -> None:
    """How many open tests are overdue, by reason."""
    core = open_core()
    try:
        settings = load_overdue_settings(core.config.clinic_timezone)
        with core.uow() as uow:
            rows = evaluate_rows(uow, settings.policy, posix(core.clock.now()))
            unmatched = uow.board.unmatched_count()
    finally:
        core.close()
    tally = Counter(reason for row in rows for reason in row.reasons)
    tally[FlagReason.UNMATCHED_RESULT] = unmatched
    click.echo(f"{len(rows):,} open ordered tests")
    for reason in FlagReason:
        click.echo(f"{tally[reason]:>8,}  {reason.label}")
