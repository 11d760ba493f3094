"""The heartbeat against real PostgreSQL behind a loopback proxy (issue 12 item 3).

The proxy refuses or black-holes the link; the station must switch offline within 3 s and
call ``resync`` once the server answers again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import station_world
from sqlalchemy.engine import Engine
from tcp_proxy import TcpProxy

from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import StorageError
from labdesk.downtime.heartbeat import Heartbeat, engine_probe
from labdesk.downtime.mode import Connectivity, StationStatus
from labdesk.kernel.messagebus import MessageBus
from labdesk.ports import UowFactory

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


class FakeMode:
    """Records the heartbeat's calls; resync goes online."""

    def __init__(self) -> None:
        self.connectivity = Connectivity.ONLINE
        self.offline_at: float | None = None
        self.reasons: list[str] = []
        self.resyncs = 0
        self.changed = threading.Event()

    @property
    def uow(self) -> UowFactory:  # pragma: no cover - not used by the heartbeat
        raise NotImplementedError

    @property
    def bus(self) -> MessageBus:  # pragma: no cover - not used by the heartbeat
        raise NotImplementedError

    def status(self) -> StationStatus:
        return StationStatus(self.connectivity, None, "", 0, 0, None)

    def go_offline(self, reason: str) -> None:
        if self.connectivity is Connectivity.ONLINE:
            self.offline_at = time.monotonic()
        self.connectivity = Connectivity.OFFLINE
        self.reasons.append(reason)
        self.changed.set()

    def resync(self) -> StationStatus:
        self.resyncs += 1
        self.connectivity = Connectivity.ONLINE
        self.changed.set()
        return self.status()

    def subscribe(
        self, callback: Callable[[StationStatus], None]
    ) -> Callable[[], None]:  # pragma: no cover
        return lambda: None


@pytest.fixture
def proxy(pg_engine: Engine) -> Iterator[TcpProxy]:
    url = pg_engine.url
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


def _wait(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@pytest.mark.parametrize("cut", ["refuse", "black_hole"])
def test_switch_within_3_s_and_resync_when_back(
    pg_engine: Engine, proxy: TcpProxy, cut: str
) -> None:
    url = proxy.rewrite_url(pg_engine.url.render_as_string(hide_password=False))
    probe = engine_probe(url, timeout_s=2.0)
    probe()  # the server answers through the proxy
    mode = FakeMode()
    refreshes: list[datetime] = []
    beat = Heartbeat(
        mode,
        probe,
        interval_s=0.5,
        timeout_s=2.0,
        refresh=lambda: refreshes.append(datetime.now(UTC)),
        refresh_every_s=0.2,
    )
    beat.start()
    try:
        assert _wait(lambda: len(refreshes) >= 1, 3.0), "refresh runs while online"
        cut_at = time.monotonic()
        getattr(proxy, cut)()
        assert _wait(lambda: mode.connectivity is Connectivity.OFFLINE, 3.5)
        assert mode.offline_at is not None
        assert mode.offline_at - cut_at <= 3.0
        assert mode.reasons
        assert "server" in mode.reasons[0]
        proxy.forward()
        assert _wait(lambda: mode.resyncs >= 1, 6.0)
        assert mode.connectivity is Connectivity.ONLINE
    finally:
        beat.stop()


def test_probe_raises_storage_error_when_refused(pg_engine: Engine, proxy: TcpProxy) -> None:
    url = proxy.rewrite_url(pg_engine.url.render_as_string(hide_password=False))
    probe = engine_probe(url, timeout_s=1.0)
    proxy.refuse()
    with pytest.raises(StorageError):
        probe()


def test_real_router_goes_offline_and_back(
    pg_engine: Engine, proxy: TcpProxy, tmp_path: Path
) -> None:
    """The app's composition: the real StationRouter over a station file, on the heartbeat."""
    from labdesk.adapters.unit_of_work import UnitOfWorkFactory
    from labdesk.config import Config
    from labdesk.domain.clock import SystemClock
    from labdesk.downtime.contacts import list_stations
    from labdesk.downtime.heartbeat import build_station_downtime

    station_world.build_station_world(UnitOfWorkFactory(pg_engine), FixedClock(NOW))

    url = proxy.rewrite_url(pg_engine.url.render_as_string(hide_password=False))
    config = Config(database_url=url, data_dir=tmp_path, station_code="DRAW-2")
    downtime = build_station_downtime(
        config, UnitOfWorkFactory(pg_engine), SystemClock(), backend="postgresql"
    )
    assert downtime is not None
    assert downtime.mode.status().connectivity is Connectivity.ONLINE
    server = UnitOfWorkFactory(pg_engine)

    def contacted() -> bool:
        rows = [c for c in list_stations(server) if c.station == "DRAW-2"]
        return bool(rows) and rows[0].last_contact_at is not None

    downtime.start()
    try:
        assert _wait(contacted, 5.0), "the heartbeat reports the station's contact online"
        cut_at = time.monotonic()
        proxy.black_hole()
        assert _wait(lambda: downtime.mode.status().connectivity is Connectivity.OFFLINE, 3.0)
        assert time.monotonic() - cut_at <= 3.0
        assert "did not answer within 2 s" in downtime.mode.status().reason
        proxy.forward()
        assert _wait(lambda: downtime.mode.status().connectivity is Connectivity.ONLINE, 8.0)
    finally:
        downtime.stop()
