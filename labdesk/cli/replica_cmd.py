"""``labdesk replica``: refresh this station's local replica, or say how old it is (issue 12)."""

from __future__ import annotations

from datetime import timedelta

import click

from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.cli.common import open_core
from labdesk.config import Config, load_config
from labdesk.domain.timefmt import format_local
from labdesk.downtime.sync import station_file
from labdesk.replica.prune import DEFAULT_KEEP, prune_replica_log
from labdesk.replica.refresh import refresh_replica, replica_refreshed_at
from labdesk.replica.scope import ReplicaScope


@click.group()
def replica() -> None:
    """This station's local copy of what it needs offline."""


def _store(config: Config) -> StationStore:
    return open_station_store(station_file(config.data_dir), config.station_code)


@replica.command()
@click.option("--order-window-days", default=14, show_default=True, type=click.IntRange(1))
@click.option("--user-days", default=30, show_default=True, type=click.IntRange(1))
def refresh(order_window_days: int, user_days: int) -> None:
    """Bring the replica up to date (the first run copies it; later runs only changes)."""
    config = load_config()
    scope = ReplicaScope(config.station_code, order_window_days, user_days)
    store = _store(config)
    try:
        core = open_core(config, create=False)
        try:
            report = refresh_replica(core.uow, store, scope, core.clock)
        finally:
            core.close()
    finally:
        store.close()
    kind = "copied" if report.full else "refreshed"
    click.echo(
        f"Replica {kind}: {report.rows} row(s) written, up to change {report.seq}, "
        f"{report.seconds:.2f} s."
    )


@replica.command()
def status() -> None:
    """Show when the replica last caught up with the server (station file only)."""
    config = load_config()
    store = _store(config)
    try:
        at = replica_refreshed_at(store)
    finally:
        store.close()
    when = format_local(at, config.clinic_timezone, "%Y-%m-%d %H:%M:%S") if at else "never"
    click.echo(f"Station {config.station_code} (station file {store.path})")
    click.echo(f"Replica last refreshed: {when}")


@replica.command("prune")
@click.option(
    "--keep-days",
    default=DEFAULT_KEEP.days,
    show_default=True,
    type=click.IntRange(1),
    help="Keep the entries of the last N days.",
)
@click.option(
    "--database-url",
    default=None,
    metavar="URL",
    help="The server database (default: the configured one, LABDESK_DATABASE_URL); its "
    "password comes from database_password_file, PGPASSFILE or ~/.pgpass.",
)
def replica_prune(keep_days: int, database_url: str | None) -> None:
    """Delete the server's replica-log entries older than the keep window (a daily job).

    Run it on the server (cron, a systemd timer). A station whose position was pruned past
    copies its scope again at its next refresh.
    """
    config = load_config()
    if database_url is not None:
        config = config.with_overrides(database_url=database_url)
    core = open_core(config, create=False)
    try:
        report = prune_replica_log(core.uow, core.clock, timedelta(days=keep_days))
    finally:
        core.close()
    kept = (
        "the log is empty"
        if report.oldest_kept is None
        else f"the log now starts at change {report.oldest_kept}"
    )
    before = format_local(report.cutoff, config.clinic_timezone)
    click.echo(
        f"Replica log pruned: {report.removed} entr{'y' if report.removed == 1 else 'ies'} "
        f"removed (changed before {before}), {kept}, {report.seconds:.2f} s."
    )
