"""``labdesk sync``: the station's accession blocks and offline outbox (issue 12)."""

from __future__ import annotations

from datetime import datetime

import click

from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.cli.common import open_core
from labdesk.config import Config, ConfigError, load_config
from labdesk.domain.clock import SystemClock
from labdesk.domain.timefmt import format_local
from labdesk.downtime.blocks import BlockPolicy, format_range, remaining
from labdesk.downtime.contacts import StationContact, list_stations
from labdesk.downtime.outbox import OutboxState
from labdesk.downtime.reconcile import ReconciliationItem, backfill, list_items
from labdesk.downtime.sync import SyncReport, SyncStatus, run_sync, station_file, sync_status


@click.group()
def sync() -> None:
    """Offline work: this station's accession blocks and its outbox."""


def _policy(config: Config) -> BlockPolicy:
    try:
        return BlockPolicy(config.accession_block_size, config.accession_block_top_up_below)
    except ValueError as exc:
        raise ConfigError(
            f"accession_block_size ({config.accession_block_size}) and "
            f"accession_block_top_up_below ({config.accession_block_top_up_below}) do not fit.",
            hint="Set accession_block_size to at least 1 and accession_block_top_up_below "
            "between 0 and the block size.",
        ) from exc


def _store(config: Config) -> StationStore:
    return open_station_store(station_file(config.data_dir), config.station_code)


@sync.command()
def status() -> None:
    """Show this station's accession blocks and outbox (read from the station file only)."""
    config = load_config()
    store = _store(config)
    try:
        state = sync_status(store, SystemClock())
    finally:
        store.close()
    for line in status_lines(state, config.clinic_timezone):
        click.echo(line)


@sync.command()
def run() -> None:
    """Replay the outbox to the server in order, then top up the accession blocks.

    Exits with status 1 when the replay was interrupted or left conflicts to reconcile.
    """
    config = load_config()
    policy = _policy(config)
    store = _store(config)
    try:
        core = open_core(config, create=False)
        try:
            report = run_sync(store, ServerSync(core.uow, core.clock), core.clock, policy)
        finally:
            core.close()
    finally:
        store.close()
    for line in report_lines(report):
        click.echo(line)
    if report.replay.interrupted or report.replay.conflicts:
        raise SystemExit(1)


def _when(at: datetime | None, tz: str) -> str:
    return format_local(at, tz, "%Y-%m-%d %H:%M:%S") if at is not None else "never"


def status_lines(state: SyncStatus, tz: str) -> list[str]:
    """What ``labdesk sync status`` prints."""
    counts = state.counts
    lines = [
        f"Station {state.station} (station file {state.path})",
        f"Accession IDs left for {state.year}: {remaining(state.blocks, state.year)}",
    ]
    if not state.blocks:
        lines.append("  No accession block yet: run 'labdesk sync run' while online.")
    for block in state.blocks:
        used = f"{block.used} used" if block.used else "none used"
        lines.append(
            f"  block {block.id} ({block.year}): {format_range(block, block.first, block.last)}"
            f", {used}, {block.remaining} left"
        )
        unused = block.unused_range
        if unused is not None and block.year != state.year:
            lines.append(f"    reserved, never used: {format_range(block, *unused)}")
    lines.append(
        f"Outbox: {counts[OutboxState.PENDING]} waiting to be sent, "
        f"{counts[OutboxState.SYNCED]} synced, {counts[OutboxState.CONFLICT]} conflicts"
    )
    lines.append(f"Last synced: {_when(state.last_synced_at, tz)}")
    for entry in state.conflicts:
        lines.append(
            f"  conflict #{entry.seq} {entry.command_type} at {_when(entry.happened_at, tz)}: "
            f"{entry.server_reason}"
        )
    return lines


def report_lines(report: SyncReport) -> list[str]:
    """What ``labdesk sync run`` prints."""
    replay = report.replay
    lines = [
        f"Replayed {replay.sent} action(s) ({replay.already} already on the server), "
        f"{replay.conflicts} conflict(s), {replay.left} left, "
        f"{replay.rate:.0f} actions/s."
    ]
    if replay.interrupted:
        lines.append(f"Stopped: {replay.interrupted} Run 'labdesk sync run' again when online.")
    if replay.conflicts:
        lines.append("Conflicts are kept; 'labdesk sync status' lists them with the reason.")
    top = report.top_up
    if top.reserved is not None:
        block = top.reserved
        lines.append(
            f"Reserved accession block {block.id}: {format_range(block, block.first, block.last)}."
        )
    if top.reported:
        lines.append(f"Reported use of {top.reported} block(s) to the server.")
    return lines


@sync.command()
@click.option("--all", "show_all", is_flag=True, help="Include resolved items.")
def conflicts(show_all: bool) -> None:
    """List the server's downtime conflicts waiting for a person (reconciliation items).

    Refused replays recorded before the replay opened items itself are opened first.
    """
    config = load_config()
    core = open_core(config, create=False)
    try:
        backfill(core.uow, core.clock)
        items = list_items(core.uow, open_only=not show_all)
    finally:
        core.close()
    for line in conflict_lines(items, config.clinic_timezone):
        click.echo(line)


@sync.command()
def stations() -> None:
    """Each station's last contact, outbox depth, accession IDs left and clock skew."""
    config = load_config()
    core = open_core(config, create=False)
    try:
        rows = list_stations(core.uow)
    finally:
        core.close()
    for line in station_lines(rows, config.clinic_timezone):
        click.echo(line)


def conflict_lines(items: list[ReconciliationItem], tz: str) -> list[str]:
    """What ``labdesk sync conflicts`` prints."""
    if not items:
        return ["No downtime conflicts to reconcile."]
    lines = [f"{len(items)} downtime conflict(s):"]
    for item in items:
        refs = ", ".join(
            f"{name} {value}"
            for name, value in (
                ("test", item.ordered_test_id),
                ("specimen", item.specimen_id),
                ("patient", item.patient_id),
            )
            if value is not None
        )
        lines.append(
            f"  #{item.id} [{item.kind.value}] {item.station} {item.command} at "
            f"{_when(item.happened_at, tz)}{' (' + refs + ')' if refs else ''}"
        )
        lines.append(f"      server: {item.server_reason}")
        if item.is_open:
            lines.append("      choose: " + ", ".join(r.value for r in item.allowed))
        else:
            lines.append(f"      resolved: {item.resolution} {item.note}".rstrip())
    return lines


def _skew(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:+.0f}s"


def station_lines(rows: list[StationContact], tz: str) -> list[str]:
    """What ``labdesk sync stations`` prints (``!`` marks a clock off by over 2 minutes)."""
    if not rows:
        return ["No station has reported yet."]
    lines = []
    for row in rows:
        mark = " !" if row.skew_warning else ""
        lines.append(
            f"{row.station}: last contact {_when(row.last_contact_at, tz)}, "
            f"outbox {row.outbox_pending if row.outbox_pending is not None else '-'} pending / "
            f"{row.outbox_conflicts if row.outbox_conflicts is not None else '-'} conflicts, "
            f"block left {row.block_remaining if row.block_remaining is not None else '-'}, "
            f"skew {_skew(row.skew_seconds)}{mark}"
        )
        for gap in row.unused:
            lines.append(f"    reserved, unused: {gap.year} {gap.first}-{gap.last} ({gap.size})")
    return lines
