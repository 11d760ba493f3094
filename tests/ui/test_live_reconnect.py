"""A PostgreSQL outage on screen: the board says "reconnecting", then comes back by itself;
and a locked table gives it an error in time, never a frozen window.

The shared server is never stopped: a loopback proxy the test owns stands in front of it
(``tests/integration/tcp_proxy.py``) and refuses every connection, as a server that is
restarting does. The app's engine and its change feed both go through the proxy; another
station, connected directly, keeps working meanwhile.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from custody_world import World
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot
from sqlalchemy import make_url

from labdesk.adapters.change_feed import PgChangeFeed
from labdesk.adapters.change_feed.pg import conninfo_from_url
from labdesk.adapters.database import make_engine
from labdesk.bootstrap import Core, bootstrap
from labdesk.config import Config
from labdesk.domain.clock import FixedClock
from labdesk.kernel.changes import FeedState
from labdesk.results.overdue_settings import overdue_settings
from ui.app import context_of
from ui.live import LiveUpdates
from ui.results.page import ResultsPage
from ui.tasks import wait_for_background_jobs

sys.path.append(str(Path(__file__).resolve().parents[1] / "integration"))
from tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres
WAIT_MS = 10_000


@pytest.fixture
def server_url(pg_session: object) -> str:
    session = pg_session
    session.fresh_migrated().dispose()  # type: ignore[attr-defined]
    return str(session.url)  # type: ignore[attr-defined]


@pytest.fixture
def proxy(server_url: str) -> Iterator[TcpProxy]:
    url = make_url(server_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


def _core(url: str, folder: Path, clock: FixedClock) -> Core:
    folder.mkdir()
    config = Config(database_url=url, data_dir=folder, station_code="DRAW-2")
    return bootstrap(config, clock=clock, auto_upgrade=False)


@pytest.fixture
def stations(server_url: str, proxy: TcpProxy, tmp_path: Path) -> Iterator[tuple[Core, Core]]:
    """(a station behind the proxy, another connected directly)."""
    clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    direct = _core(server_url, tmp_path / "direct", clock)
    behind = _core(proxy.rewrite_url(server_url), tmp_path / "behind", clock)
    yield behind, direct
    wait_for_background_jobs()
    behind.close()
    direct.close()


def test_a_refused_server_shows_reconnecting_then_the_board_catches_up(
    qtbot: QtBot, stations: tuple[Core, Core], proxy: TcpProxy
) -> None:
    behind, direct = stations
    world = World.build(direct.uow, direct.clock)
    world.specimen()
    feed = PgChangeFeed(
        conninfo_from_url(make_url(behind.config.database_url)), backoff_s=(0.1, 0.4)
    )
    live = LiveUpdates(feed)
    live.start()
    try:
        qtbot.waitUntil(lambda: live.state is FeedState.LIVE, timeout=WAIT_MS)
        page = ResultsPage(
            context_of(behind, live), world.users["sam"], settings=overdue_settings(behind.config)
        )
        qtbot.addWidget(page)
        page.resize(1280, 800)
        with qtbot.waitSignal(page.board_loaded, timeout=WAIT_MS):
            page.show()
        before = page.model.rowCount()
        assert before >= 1
        assert not page.reconnecting

        proxy.refuse()  # the server restarts: every connection dropped, new ones refused
        qtbot.waitUntil(lambda: page.reconnecting, timeout=WAIT_MS)
        assert page.reconnecting_strip.isVisible()
        world.specimen()  # another station works on; its notification is lost to us
        qtbot.wait(300)
        assert page.model.rowCount() == before  # what it showed stays, marked out of date

        view = page.live_view
        assert view is not None
        reloads = view.reloads
        with qtbot.waitSignal(page.board_loaded, timeout=WAIT_MS):
            proxy.forward()  # the server is back: reconnect, resync, reload
        assert not page.reconnecting
        assert not page.reconnecting_strip.isVisible()
        assert view.reloads > reloads
        assert page.model.rowCount() > before  # the change made while away is shown
        assert not page.status_label.is_error, page.status_label.text()  # the pool is back
        assert feed.connects == 2
    finally:
        live.stop()


def test_a_locked_table_gives_the_board_an_error_in_time_and_never_freezes_the_window(
    qtbot: QtBot, server_url: str, tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    config = Config(
        database_url=server_url,
        data_dir=tmp_path,
        station_code="DRAW-2",
        interactive_timeout_ms=300,
    )
    core = bootstrap(config, clock=clock, auto_upgrade=False, interactive=True)  # as the app
    holder = make_engine(server_url)  # another session, without the limit
    try:
        world = World.build(core.uow, core.clock)
        world.specimen()
        page = ResultsPage(
            context_of(core), world.users["sam"], settings=overdue_settings(core.config)
        )
        page.poll_timer.stop()  # the test reloads by itself
        qtbot.addWidget(page)
        with qtbot.waitSignal(page.board_loaded, timeout=WAIT_MS):
            page.show()
        ticks: list[float] = []
        ticker = QTimer(page)
        ticker.timeout.connect(lambda: ticks.append(time.monotonic()))
        ticker.start(20)
        with holder.connect() as conn:
            conn.exec_driver_sql("LOCK TABLE board_entries IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            page.reload()
            qtbot.waitUntil(lambda: page.status_label.is_error, timeout=WAIT_MS)
            waited = time.monotonic() - started
            conn.rollback()
        assert waited < 3, f"the board waited {waited:.1f} s for the lock"
        assert "took too long to answer" in page.status_label.text()
        gaps = [b - a for a, b in itertools.pairwise(t for t in ticks if t >= started)]
        assert gaps
        assert max(gaps) < 0.25, "the UI thread stalled while the board waited"
        with qtbot.waitSignal(page.board_loaded, timeout=WAIT_MS):
            page.reload()  # the lock is gone: it loads again
        assert not page.status_label.is_error
    finally:
        wait_for_background_jobs()
        holder.dispose()
        core.close()
