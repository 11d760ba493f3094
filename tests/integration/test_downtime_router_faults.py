"""The router's resync through a link that breaks (PostgreSQL behind a loopback proxy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select
from station_world import add_order, build_station_world
from tcp_proxy import TcpProxy
from test_downtime_router import seed_replica, visit

from labdesk.adapters.database import make_engine
from labdesk.adapters.downtime.server import ServerSync
from labdesk.adapters.downtime.station_store import open_station_store
from labdesk.adapters.orm import specimens
from labdesk.adapters.orm.commands import handled_commands
from labdesk.adapters.orm.downtime import replayed_commands
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.downtime.mode import Connectivity
from labdesk.downtime.outbox import OutboxState
from labdesk.downtime.router import StationRouter

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(pg_engine: Engine) -> Iterator[TcpProxy]:
    url = pg_engine.url
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def test_a_link_cut_mid_resync_stays_offline_then_resumes_once(
    pg_engine: Engine, proxy: TcpProxy, clock: FixedClock, tmp_path: Path
) -> None:
    direct = UnitOfWorkFactory(pg_engine)
    world = build_station_world(direct, clock)
    add_order(direct, clock, world.patients["ana"], ("CBC", "CMP"))
    store = open_station_store(tmp_path / "station.sqlite3", world.station_code)
    block = ServerSync(direct, clock).reserve_block(store.station, clock.now().year, 20)
    with store() as uow:
        uow.blocks.put(block)
        uow.commit()
    seed_replica(pg_engine, store)
    proxied = make_engine(proxy.rewrite_url(pg_engine.url.render_as_string(hide_password=False)))
    uows = UnitOfWorkFactory(proxied)
    router = StationRouter(uows, store, clock, sync_server=lambda: ServerSync(uows, clock))
    router.go_offline("the server did not answer")
    printed = visit(router, world, "WB-M200001")  # open, collect 2 tubes, scan both back
    handled_before = _count(pg_engine, handled_commands)
    commits = 0

    @event.listens_for(proxied, "commit")
    def cut_at_the_second_commit(_conn: object) -> None:
        nonlocal commits
        commits += 1
        if commits == 2:
            proxy.cut()  # the collection's COMMIT never reaches the server

    status = router.resync()
    assert status.connectivity is Connectivity.OFFLINE  # the link dropped mid-replay
    assert status.pending == 3
    assert _count(pg_engine, specimens) == 0
    event.remove(proxied, "commit", cut_at_the_second_commit)
    proxy.forward()
    status = router.resync()
    assert status.connectivity is Connectivity.ONLINE
    assert (status.pending, status.conflicts) == (0, 0)
    with pg_engine.connect() as conn:
        on_server = sorted(conn.execute(select(specimens.c.accession)).scalars())
    assert on_server == sorted(printed)  # the IDs on the printed labels
    assert _count(pg_engine, handled_commands) == handled_before + 4  # each once
    assert _count(pg_engine, replayed_commands) == 4
    with store() as uow:
        assert {e.state for e in uow.outbox.all()} == {OutboxState.SYNCED}
    proxied.dispose()
    store.close()
