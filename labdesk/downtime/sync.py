"""``labdesk sync``: top up the station's accession blocks, replay its outbox, report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from labdesk.domain.clock import Clock
from labdesk.downtime.blocks import AccessionBlock, BlockPolicy, needs_top_up
from labdesk.downtime.outbox import OutboxEntry, OutboxState
from labdesk.downtime.ports import LocalStore, SyncServer
from labdesk.downtime.replay import ReplayReport, replay_outbox


@dataclass(frozen=True)
class TopUp:
    """What a block top-up did."""

    reported: int
    """Blocks whose use was reported to the server."""
    reserved: AccessionBlock | None
    """The block reserved now, None when the station had enough."""


@dataclass(frozen=True)
class SyncReport:
    """What one ``labdesk sync run`` did."""

    top_up: TopUp
    replay: ReplayReport


@dataclass(frozen=True)
class SyncStatus:
    """The station's side of downtime work, readable offline."""

    station: str
    path: Path
    blocks: list[AccessionBlock]
    year: int
    counts: dict[OutboxState, int]
    conflicts: list[OutboxEntry]
    last_synced_at: datetime | None


def top_up_blocks(
    store: LocalStore, server: SyncServer, clock: Clock, policy: BlockPolicy
) -> TopUp:
    """Report how far the station got in each block, then reserve one if it runs low.

    Raises:
        BlockRefused: the year's serials are used up on the server.
        StorageError: the server cannot be reached (nothing changes locally).
    """
    local, reported = report_blocks(store, server)
    year = clock.now().year
    if not needs_top_up(local, year, policy):
        return TopUp(reported, None)
    # The server commits the block before the station stores it: a station that dies in
    # between leaves a block it never uses, recorded on the server as reserved and unused.
    block = server.reserve_block(store.station, year, policy.size)
    with store() as uow:
        uow.blocks.put(block)
        uow.commit()
    return TopUp(reported, block)


def report_blocks(store: LocalStore, server: SyncServer) -> tuple[list[AccessionBlock], int]:
    """Tell the server how far the station got in each block (after offline work).

    Returns the station's blocks and how many were reported.

    Raises:
        StorageError: the server cannot be reached (nothing changes locally).
    """
    with store() as uow:
        local = uow.blocks.all()
    on_server = {b.id: b for b in server.blocks(store.station)}
    reported = 0
    for block in local:
        known = on_server.get(block.id)
        if known is not None and known.issued_up_to < block.issued_up_to:
            server.report_issued(block)
            reported += 1
    return local, reported


def run_sync(
    store: LocalStore, server: SyncServer, clock: Clock, policy: BlockPolicy
) -> SyncReport:
    """Replay the outbox first (it is the clinic's work), then top up the blocks.

    Raises:
        OutboxUnreadable: the outbox cannot be replayed (nothing sent; blocks untouched).
        StorageError: the server cannot be reached.
    """
    replay = replay_outbox(store, server, clock)
    if replay.interrupted:
        return SyncReport(TopUp(0, None), replay)
    return SyncReport(top_up_blocks(store, server, clock, policy), replay)


def sync_status(store: LocalStore, clock: Clock) -> SyncStatus:
    """The station's blocks and outbox, from the local file only (works offline)."""
    with store() as uow:
        return SyncStatus(
            station=store.station,
            path=store.path,
            blocks=uow.blocks.all(),
            year=clock.now().year,
            counts=uow.outbox.counts(),
            conflicts=uow.outbox.conflicts(),
            last_synced_at=uow.outbox.last_synced_at(),
        )


STATION_FILE = "station.sqlite3"


def station_file(data_dir: Path) -> Path:
    """Where the station file lives: the data directory, next to the logs and anchors."""
    return data_dir / STATION_FILE
