"""A station killed (SIGKILL) while working offline loses no saved action and sends none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from station_world import StationWorld, build_station_world
from test_downtime_router import seed_replica

from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import open_station_store
from labdesk.adapters.orm import orders
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.downtime.mode import Connectivity
from labdesk.downtime.outbox import OutboxState
from labdesk.downtime.router import StationRouter

pytestmark = pytest.mark.integration

PROVIDER = "Dr. Killed"

_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from labdesk.adapters.database import make_engine
from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import open_station_store
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import SystemClock
from labdesk.downtime.router import StationRouter
from labdesk.access.auth import session_of
from labdesk.station.commands import PlaceOrder

url, path, done = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
patient, user = int(sys.argv[5]), int(sys.argv[6])
uows = UnitOfWorkFactory(make_engine(url))
clock = SystemClock()
with uows() as uow:
    actor = session_of(uow.people.user(user), "DRAW-2")
store = open_station_store(path, "DRAW-2")
router = StationRouter(uows, store, clock, sync_server=lambda: ServerSync(uows, clock))
router.go_offline("test: offline")
with done.open("a") as log:
    while True:
        command = PlaceOrder(
            patient_id=patient, test_codes=("CBC",), ordering_provider="Dr. Killed"
        )
        router.bus.handle(command, actor)
        log.write(command.idempotency_key + "\\n")  # the user saw it saved
        log.flush()
"""


def test_killed_offline_loses_no_saved_action_and_replays_each_once(
    engine: Engine, uow_factory: UnitOfWorkFactory, clock: FixedClock, tmp_path: Path
) -> None:
    world: StationWorld = build_station_world(uow_factory, clock)
    path = tmp_path / "station.sqlite3"
    store = open_station_store(path, world.station_code)
    seed_replica(engine, store)
    store.close()
    done = tmp_path / "done.txt"
    done.touch()
    url = engine.url.render_as_string(hide_password=False)
    repo = str(Path(__file__).resolve().parents[2])
    args = [sys.executable, "-c", _CHILD, repo, url, str(path), str(done)]
    args += [str(world.patients["ana"]), str(world.ma.id)]
    child = subprocess.Popen(args, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(done.read_text().split()) < 8:
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the offline station never saved 8 orders"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    saved = done.read_text().split()
    store = open_station_store(path, world.station_code)
    with store() as uow:
        entries = uow.outbox.all()
        local = uow.session.scalar(
            select(func.count()).select_from(orders).where(orders.c.ordering_provider == PROVIDER)
        )
    keys = [e.key for e in entries]
    assert set(saved) <= set(keys)  # every action the user saw saved is in the outbox
    assert local == len(keys)  # each entry with its local effect, none without
    router = StationRouter(
        uow_factory, store, clock, sync_server=lambda: ServerSync(uow_factory, clock)
    )
    assert router.status().connectivity is Connectivity.OFFLINE  # pending work reopens offline
    assert router.resync().connectivity is Connectivity.ONLINE
    router.go_offline("again")
    router.resync()
    with engine.connect() as conn:
        on_server = conn.scalar(
            select(func.count()).select_from(orders).where(orders.c.ordering_provider == PROVIDER)
        )
    assert on_server == len(keys)  # each once
    with store() as uow:
        assert {e.state for e in uow.outbox.all()} == {OutboxState.SYNCED}
    store.close()
