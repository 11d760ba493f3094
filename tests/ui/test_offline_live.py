"""Offline, a change committed to the station file reaches the open screens without F5.

The station works offline from its replica (as in ``test_downtime_visit.py``). The app's
feed is the one ``ui/app.py`` opens for a station with downtime mode
(:func:`labdesk.live_feed.open_feed`): the server's file watcher online, the station file's
offline. A visit done through the station's bus (as the chair's screen does it) lands in
the station file; the worklist, open at the find step, shows its tubes awaiting the
courier by itself. Back online, one full reload shows the server's rows again, and no page
says "Reconnecting" at any point.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from labdesk.access.commands import SignIn
from labdesk.adapters.change_feed import SqliteChangeFeed
from labdesk.adapters.downtime.station_store import StationStore, open_station_store
from labdesk.bootstrap import Core
from labdesk.downtime.blocks import BlockPolicy
from labdesk.downtime.heartbeat import Heartbeat, StationDowntime
from labdesk.downtime.live import DowntimeChangeFeed
from labdesk.downtime.mode import Connectivity
from labdesk.downtime.router import StationRouter
from labdesk.kernel.changes import ChangeBatch, FeedState, OnChanges, OnState
from labdesk.live_feed import open_feed
from tests.station_world import draw_and_scan_back
from tests.ui.downtime_clinic import STATION, seed_clinic, station_router
from tests.ui.station_window import open_station_window, station_of
from ui.app import context_of
from ui.live import LiveUpdates
from ui.main_window import MainWindow

WAIT_MS = 10_000


@pytest.fixture
def server(core: Core, tmp_path: Path) -> Core:
    """The clinic's server: this station, a wristband and an order for John Smith."""
    return seed_clinic(core, tmp_path / "labels")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StationStore]:
    station_file = open_station_store(tmp_path / "station.sqlite3", STATION)
    yield station_file
    station_file.close()


@pytest.fixture
def router(server: Core, store: StationStore) -> StationRouter:
    return station_router(server, store)


@pytest.fixture
def live(
    qtbot: QtBot, server: Core, router: StationRouter, store: StationStore
) -> Iterator[LiveUpdates]:
    """The app's feed for this station, as ``start_live_updates`` opens it (no heartbeat:
    the test flips the mode itself)."""
    downtime = StationDowntime(router, Heartbeat(router, lambda: None), store)
    feed = open_feed(server.config, downtime)
    assert isinstance(feed, DowntimeChangeFeed)
    updates = LiveUpdates(feed)
    updates.start()
    qtbot.waitUntil(lambda: updates.live, timeout=WAIT_MS)
    yield updates
    updates.stop()


def test_offline_changes_reach_the_worklist_and_online_reloads_it(
    qtbot: QtBot,
    server: Core,
    router: StationRouter,
    store: StationStore,
    live: LiveUpdates,
    password: str,
) -> None:
    maria = router.bus.handle(SignIn(username="maria", password=password, station=STATION))
    router.keep_ready(BlockPolicy(size=20, top_up_below=5))  # the replica holds the order
    window: MainWindow = open_station_window(qtbot, context_of(server, live, router), maria)
    page = station_of(window)
    find, view = page.find_step, page.worklist_live
    assert view is not None
    qtbot.waitUntil(lambda: find.waiting_model.rowCount() == 1, timeout=WAIT_MS)
    feed = live.feed
    assert isinstance(feed, DowntimeChangeFeed)
    batches: list[ChangeBatch] = []
    live.changes.connect(batches.append)
    states: list[FeedState] = []
    live.state_changed.connect(states.append)

    router.go_offline("the server did not answer within 2 s")
    qtbot.waitUntil(lambda: window.offline_banner.isVisible())
    assert feed.offline
    reloads = view.reloads
    accessions = draw_and_scan_back(router.bus, maria, "WBM100001", STATION)
    assert len(accessions) == 2
    with store.engine.connect() as conn:  # migration 0013's counters, in the station file
        rows = conn.execute(text("SELECT topic, seq FROM change_counters"))
        seqs = {str(topic): int(seq) for topic, seq in rows}
    assert seqs["specimens"] > 0
    assert seqs["custody"] > 0
    # No F5: the station file's feed tells the worklist, which reads the replica.
    qtbot.waitUntil(lambda: find.pickup_model.rowCount() == 2, timeout=WAIT_MS)
    assert find.waiting_model.rowCount() == 0
    assert view.reloads > reloads
    assert batches
    assert not any(b.resync for b in batches)  # going offline forced no reload
    assert not page.reconnecting
    assert live.state is FeedState.LIVE
    with server.uow() as uow:  # the server has not seen the visit: the rows came from the file
        assert uow.station.awaiting_pickup(_site_id(server)) == []

    # The server answers again: replay, then one full reload from the server.
    batches.clear()
    reloads = view.reloads
    assert router.resync().connectivity is Connectivity.ONLINE
    qtbot.waitUntil(lambda: not feed.offline)  # the station file's feed was let go
    qtbot.waitUntil(lambda: any(b.resync for b in batches), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: view.reloads > reloads and not view.loading, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.offline_banner.isHidden())
    with server.uow() as uow:
        assert len(uow.station.awaiting_pickup(_site_id(server))) == 2
    assert find.pickup_model.rowCount() == 2
    shown = sorted(find.pickup_model.row_at(n).accession for n in range(2))
    assert shown == sorted(accessions)  # the server's rows, under the labels' IDs
    assert not page.reconnecting
    assert FeedState.RECONNECTING not in states
    assert live.state is FeedState.LIVE


class ServerFeed:
    """The server's feed as the test tells it: connection lost, then back."""

    def __init__(self) -> None:
        self.on_state: OnState | None = None

    def start(self, on_changes: OnChanges, on_state: OnState) -> None:
        self.on_state = on_state
        on_state(FeedState.LIVE)

    def stop(self) -> None:
        """Nothing to release."""

    def tell(self, state: FeedState) -> None:
        assert self.on_state is not None
        threading.Thread(target=self.on_state, args=(state,)).start()  # from its own thread


def test_pages_do_not_say_reconnecting_while_working_offline(
    qtbot: QtBot, server: Core, router: StationRouter, store: StationStore, password: str
) -> None:
    maria = router.bus.handle(SignIn(username="maria", password=password, station=STATION))
    router.keep_ready(BlockPolicy(size=20, top_up_below=5))
    server_feed = ServerFeed()
    live = LiveUpdates(
        DowntimeChangeFeed(server_feed, router, lambda: SqliteChangeFeed(store.path))
    )
    live.start()
    try:
        window = open_station_window(qtbot, context_of(server, live, router), maria)
        page = station_of(window)
        qtbot.waitUntil(lambda: live.live, timeout=WAIT_MS)

        server_feed.tell(FeedState.RECONNECTING)  # the server's connection drops first
        qtbot.waitUntil(lambda: page.reconnecting, timeout=WAIT_MS)
        router.go_offline("the server did not answer within 2 s")
        # The banner says offline; the pages, live from the station file, say nothing more.
        qtbot.waitUntil(lambda: not page.reconnecting, timeout=WAIT_MS)
        assert window.offline_banner.isVisible()
        assert live.state is FeedState.LIVE

        assert router.resync().connectivity is Connectivity.ONLINE
        # Online again while the server's feed still reconnects: the pages say so, truly.
        qtbot.waitUntil(lambda: page.reconnecting, timeout=WAIT_MS)
        server_feed.tell(FeedState.LIVE)
        qtbot.waitUntil(lambda: not page.reconnecting, timeout=WAIT_MS)
    finally:
        live.stop()


def _site_id(core: Core) -> int:
    with core.uow() as uow:
        station = uow.people.station_by_code(STATION)
        assert station is not None
        return int(station.site_id)


def test_the_app_wires_the_mode_following_feed_for_a_station_with_downtime(
    qtbot: QtBot, server: Core, router: StationRouter, store: StationStore
) -> None:
    from PySide6.QtCore import QObject

    from ui.app import start_live_updates

    parent = QObject()
    downtime = StationDowntime(router, Heartbeat(router, lambda: None), store)
    with_mode = start_live_updates(server, parent, downtime)
    plain = start_live_updates(server, parent)
    try:
        assert with_mode is not None
        assert plain is not None
        assert isinstance(with_mode.feed, DowntimeChangeFeed)
        assert isinstance(plain.feed, SqliteChangeFeed)  # no downtime mode: as before
        qtbot.waitUntil(lambda: with_mode.live, timeout=WAIT_MS)
    finally:
        for live in (with_mode, plain):
            if live is not None:
                live.stop()
