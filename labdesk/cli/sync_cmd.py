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
from labdesk.downtime.outbox import OutboxState
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
