"""Accession blocks on the server: carved off the online counter, topped up, use reported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from station_world import build_station_world

from labdesk.adapters.database import make_engine
from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.cli import _load_plugins, cli
from labdesk.domain.accession import validate_accession
from labdesk.domain.clock import FixedClock
from labdesk.downtime.blocks import BlockPolicy
from labdesk.downtime.offline import issue_offline_accession, queue_command
from labdesk.downtime.sync import run_sync, station_file, top_up_blocks
from labdesk.station.accession import issue_accession
from labdesk.station.commands import PlaceOrder

STATION = "DRAW-2"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StationStore]:
    opened = open_station_store(tmp_path / "station.sqlite3", STATION)
    yield opened
    opened.close()


def _online_serial(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> int:
    with uow_factory() as uow:
        accession = issue_accession(uow, clock)
        uow.commit()
    return int(accession[2:9])


def test_a_block_is_carved_off_the_counter_online_ids_come_from(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    assert _online_serial(uow_factory, clock) == 1
    block = ServerSync(uow_factory, clock).reserve_block(STATION, 2026, 200)
    assert (block.first, block.last, block.used) == (2, 201, 0)
    assert _online_serial(uow_factory, clock) == 202  # never one of the station's


def test_sync_tops_up_and_reports_how_far_the_station_got(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, store: StationStore
) -> None:
    server = ServerSync(uow_factory, clock)
    policy = BlockPolicy(size=10, top_up_below=4)
    first = top_up_blocks(store, server, clock, policy).reserved
    assert first is not None
    assert top_up_blocks(store, server, clock, policy).reserved is None  # 10 left: enough
    issued = []
    for _ in range(7):  # offline work
        with store() as uow:
            issued.append(issue_offline_accession(uow, STATION, clock))
            uow.commit()
    assert [validate_accession(a) for a in issued] == issued
    assert [int(a[2:9]) for a in issued] == list(range(first.first, first.first + 7))
    report = run_sync(store, server, clock, policy)
    assert report.top_up.reported == 1
    second = report.top_up.reserved
    assert second is not None
    assert second.first == first.last + 1
    on_server = server.blocks(STATION)
    assert [(b.id, b.issued_up_to) for b in on_server] == [
        (first.id, first.first + 6),
        (second.id, second.first - 1),
    ]
    assert on_server[0].unused_range == (first.first + 7, first.last)  # recorded, not lost


def test_two_stations_reserving_at_once_never_overlap(pg_engine: Engine, clock: FixedClock) -> None:
    uows = UnitOfWorkFactory(pg_engine)
    server = ServerSync(uows, clock)
    start = threading.Barrier(3)

    def station(code: str) -> list[tuple[int, int]]:
        start.wait(timeout=30)
        return [
            (b.first, b.last) for b in (server.reserve_block(code, 2026, 20) for _ in range(15))
        ]

    def online() -> list[tuple[int, int]]:
        start.wait(timeout=30)
        return [(s, s) for s in (_online_serial(uows, clock) for _ in range(30))]

    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = [pool.submit(station, "DRAW-1"), pool.submit(station, "DRAW-2")]
        jobs.append(pool.submit(online))
        ranges = sorted(r for job in jobs for r in job.result(timeout=120))
    serials = [s for first, last in ranges for s in range(first, last + 1)]
    assert len(serials) == len(set(serials)) == 2 * 15 * 20 + 30
    assert serials == list(range(1, len(serials) + 1))  # no overlap and no hole
    assert {b.station for b in server.blocks("DRAW-1")} == {"DRAW-1"}


def test_sync_status_and_run_from_the_command_line(
    tmp_path: Path, sqlite_path: Path, migrated_sqlite_file: Path
) -> None:
    """A fresh process replays the outbox (every handler registered), keeps a conflict and
    exits 1 for it, reserves a block, and ``sync status`` shows it all."""
    shutil.copy(migrated_sqlite_file, sqlite_path)
    url = f"sqlite:///{sqlite_path}"
    data = tmp_path / "data"
    env = {
        "LABDESK_DATA_DIR": str(data),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_DATABASE_URL": url,
        "LABDESK_STATION": STATION,
    }
    engine = make_engine(url)
    now = FixedClock(datetime.now(UTC))
    world = build_station_world(UnitOfWorkFactory(engine), now)
    engine.dispose()
    station = open_station_store(station_file(data), STATION)
    with station() as uow:
        for code in ("CBC", "NOPE"):
            command = PlaceOrder(
                patient_id=world.patients["ana"], test_codes=(code,), ordering_provider="Dr. A"
            )
            queue_command(uow, command, world.ma, now)
        uow.commit()
    station.close()
    _load_plugins()
    runner = CliRunner()
    before = runner.invoke(cli, ["sync", "status"], env=env)
    assert before.exit_code == 0, before.output
    assert "No accession block yet" in before.output
    assert "Outbox: 2 waiting to be sent" in before.output
    ran = subprocess.run(
        [sys.executable, "-m", "labdesk", "sync", "run"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr  # a conflict to reconcile
    assert "Replayed 1 action(s) (0 already on the server), 1 conflict(s)" in ran.stdout
    assert "Reserved accession block 1" in ran.stdout
    shown = runner.invoke(cli, ["sync", "status"], env=env).output
    assert f"Accession IDs left for {now.now().year}: 200" in shown
    assert "block 1" in shown
    assert "none used, 200 left" in shown
    assert "Outbox: 0 waiting to be sent, 1 synced, 1 conflicts" in shown
    assert "conflict #2 PlaceOrder" in shown
    assert "'NOPE' is not an orderable test" in shown


def test_a_damaged_station_file_is_reported_with_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        "LABDESK_DATA_DIR": str(data),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_STATION": STATION,
    }
    data.mkdir()
    station_file(data).write_bytes(b"not a station file\n" * 300)
    _load_plugins()
    for args in (["sync", "status"], ["sync", "run"]):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 2, result.output
        assert "cannot be replayed" in result.output
        assert "give it to your administrator" in result.output.lower()
    assert station_file(data).read_bytes() == b"not a station file\n" * 300
