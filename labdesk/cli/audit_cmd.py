"""``labdesk audit``: verify the hash-chained audit log, note its head as an anchor."""

from __future__ import annotations

import re

import click

from labdesk.access.audit_log import verify_audit_log
from labdesk.access.commands import VerifyAuditLog
from labdesk.cli.common import open_core
from labdesk.domain.audit_chain import ProblemKind

_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")
EXIT_TAMPERED = 1


def _anchor(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[int, str] | None:
    if value is None:
        return None
    match = _ANCHOR.fullmatch(value.strip().lower())
    if match is None:
        raise click.BadParameter("expected ID:HASH as printed by 'labdesk audit head'")
    return int(match.group(1)), match.group(2)


@click.group()
def audit() -> None:
    """Audit log commands."""


@audit.command()
@click.option(
    "--anchor",
    callback=_anchor,
    metavar="ID:HASH",
    help="An entry noted earlier with 'labdesk audit head'; it must still be there unchanged.",
)
def verify(anchor: tuple[int, str] | None) -> None:
    """Check every audit entry's hash link; name modified, deleted and inserted entries.

    Exits 0 when the log is intact, 1 when tampering was found.
    """
    core = open_core(create=False)
    try:
        report = core.bus.handle(VerifyAuditLog(anchor=anchor))  # the check is recorded
    finally:
        core.close()
    if report.ok:
        click.echo(
            f"Audit log intact: {report.checked} entries, head #{report.head_id or 0} "
            f"{report.head_hash}."
        )
        return
    click.secho(
        f"AUDIT LOG TAMPERED: {len(report.problems) + len(report.guards)} problem(s) in "
        f"{report.checked} entries.",
        fg="red",
        err=True,
    )
    for guard in report.guards:
        click.echo(f"  unguarded: {guard}", err=True)
    for kind in ProblemKind:
        ids = report.ids(kind)
        if ids:
            click.echo(f"  {kind.value}: {', '.join(f'#{i}' for i in ids)}", err=True)
    for problem in report.problems:
        click.echo(f"  - {problem.detail}", err=True)
    click.echo(
        "  What to do: keep the database as it is (take a copy), and compare it with a backup "
        "to see what was changed.",
        err=True,
    )
    raise SystemExit(EXIT_TAMPERED)


@audit.command()
def head() -> None:
    """Print the newest entry's ID:HASH; store it elsewhere to anchor a later verify."""
    core = open_core(create=False)
    try:
        report = core.bus.query(verify_audit_log, core.clock, None, record=False)
    finally:
        core.close()
    click.echo(f"{report.head_id or 0}:{report.head_hash}")
    if not report.ok:
        click.secho("Warning: the log does not verify; run 'labdesk audit verify'.", err=True)
