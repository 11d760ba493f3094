"""Live updates on screen (``ui/live.py``): which screens reload, when, how often, and what
they say while the feed reconnects; then end to end, two stations on one database."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from custody_world import World
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core, bootstrap
from labdesk.config import Config
from labdesk.custody.commands import ScanPickup, StartPickup
from labdesk.custody.dto import TransitFlagRow
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import StorageError
from labdesk.kernel.changes import ChangeBatch, FeedState, OnChanges, OnState, Topic
from labdesk.kernel.dto import SignedInUser
from labdesk.live_feed import open_feed
from labdesk.results.overdue_settings import overdue_settings
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.reference import StationSpec
from ui.app import context_of
from ui.context import AppContext
from ui.custody import widgets as custody_widgets_module
from ui.custody.courier_page import CourierPage
from ui.custody.receiving_page import LabReceivingPage
from ui.custody.widgets import TRANSIT_LONGEST_WAIT_MS, TRANSIT_SLACK_MS
from ui.live import LiveUpdates, LiveView
from ui.printing import printers_panel as printers_panel_module
from ui.printing.printers_panel import PrintersPanel
from ui.results.page import DUE_SLACK_S, LONGEST_WAIT_S, ResultsPage
from ui.station import find_step as find_step_module
from ui.station.page import StationPage
from ui.status_bar import StatusBar
from ui.tasks import wait_for_background_jobs

WAIT_MS = 10_000


class FakeFeed:
    """A change feed the test drives; it calls back from its own thread, as real ones do."""

    def __init__(self) -> None:
        self.on_changes: OnChanges | None = None
        self.on_state: OnState | None = None
        self.stopped = False

    def start(self, on_changes: OnChanges, on_state: OnState) -> None:
        self.on_changes, self.on_state = on_changes, on_state
        self._from_thread(lambda: on_state(FeedState.LIVE))

    def stop(self) -> None:
        self.stopped = True

    def send(self, *batches: ChangeBatch) -> None:
        """Deliver ``batches`` one after another from the feed's thread."""
        deliver = self.on_changes
        assert deliver is not None

        def run() -> None:
            for batch in batches:
                deliver(batch)

        self._from_thread(run)

    def state(self, state: FeedState) -> None:
        on_state = self.on_state
        assert on_state is not None
        self._from_thread(lambda: on_state(state))

    @staticmethod
    def _from_thread(fn: Callable[[], None]) -> None:
        thread = threading.Thread(target=fn)
        thread.start()
        thread.join()


def batch(*topics: Topic) -> ChangeBatch:
    return ChangeBatch(ids={t: frozenset({1}) for t in topics})


@pytest.fixture
def feed() -> FakeFeed:
    return FakeFeed()


@pytest.fixture
def live(qtbot: QtBot, feed: FakeFeed) -> Iterator[LiveUpdates]:
    updates = LiveUpdates(feed)
    updates.start()
    qtbot.waitUntil(lambda: updates.state is FeedState.LIVE, timeout=WAIT_MS)
    yield updates
    updates.stop()


@pytest.fixture
def live_context(app_context: AppContext, live: LiveUpdates) -> AppContext:
    return dataclasses.replace(app_context, live=live)


@dataclasses.dataclass
class Screens:
    """One screen per family, each shown in its own window, all loaded once."""

    results: ResultsPage
    station: StationPage
    courier: CourierPage
    receiving: LabReceivingPage
    printers: PrintersPanel

    def views(self) -> dict[str, LiveView]:
        found = {
            "results": self.results.live_view,
            "worklist": self.station.worklist_live,
            "encounter": self.station.encounter_live,
            "courier": self.courier.live_view,
            "courier transit": self.courier.transit.live_view,
            "receiving": self.receiving.live_view,
            "receiving transit": self.receiving.transit.live_view,
            "print queue": self.printers.live_view,
        }
        assert all(v is not None for v in found.values())
        return {name: v for name, v in found.items() if v is not None}

    def reloads(self) -> dict[str, int]:
        return {name: view.reloads for name, view in self.views().items()}

    def widgets(self) -> list[QWidget]:
        return [self.results, self.station, self.courier, self.receiving, self.printers]


def _show(qtbot: QtBot, widget: QWidget) -> None:
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()


@pytest.fixture
def screens(
    qtbot: QtBot,
    core: Core,
    clock: FixedClock,
    live_context: AppContext,
    user_named: Callable[[str], SignedInUser],
) -> Screens:
    World.on_existing(core.uow, clock, {})  # the sites, for the station and the courier
    with core.uow() as uow:
        ClinicBuilder(uow, clock).station(StationSpec("DRAW-2", "Draw 2", "CLINIC"))
        uow.commit()
    results = ResultsPage(
        live_context, user_named("sam"), settings=overdue_settings(live_context.config)
    )
    with qtbot.waitSignal(results.board_loaded, timeout=WAIT_MS):
        _show(qtbot, results)
    station = StationPage(live_context, user_named("maria"))
    outcome: list[object] = []
    station.find_step.worklist_shown.connect(outcome.append)
    station.find_step.worklist_failed.connect(outcome.append)
    _show(qtbot, station)
    qtbot.waitUntil(lambda: bool(outcome), timeout=WAIT_MS)
    assert isinstance(outcome[0], int), f"the worklist did not load: {outcome[0]}"
    courier = CourierPage(live_context, user_named("chris"))
    receiving = LabReceivingPage(live_context, user_named("lena"))
    printers = PrintersPanel(live_context, user_named("alex"))
    with qtbot.waitSignal(printers.queue_loaded, timeout=WAIT_MS):
        for widget in (courier, receiving, printers):
            _show(qtbot, widget)
    wait_for_background_jobs()
    qtbot.wait(20)
    return Screens(results, station, courier, receiving, printers)


def _settle(qtbot: QtBot) -> None:
    """Let queued deliveries and the loads they started finish."""
    for _ in range(3):
        qtbot.wait(30)
        wait_for_background_jobs()
    qtbot.wait(30)


def _more(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {name for name in after if after[name] > before[name]}


def test_a_batch_reloads_exactly_the_screens_showing_its_topic(
    qtbot: QtBot, screens: Screens, feed: FakeFeed
) -> None:
    expected = {
        Topic.RESULTS: {"results"},
        Topic.ACKS: {"results"},
        Topic.PRINT_JOBS: {"worklist", "print queue"},
        Topic.RECOLLECTIONS: {"worklist", "encounter"},
        Topic.MANIFESTS: {"courier", "courier transit", "receiving", "receiving transit"},
        Topic.CUSTODY: {
            "results",
            "worklist",
            "courier",
            "courier transit",
            "receiving",
            "receiving transit",
        },
    }
    for topic, names in expected.items():
        before = screens.reloads()
        feed.send(batch(topic))
        _settle(qtbot)
        assert _more(before, screens.reloads()) == names, topic


def test_a_result_batch_reloads_the_board_itself(
    qtbot: QtBot, screens: Screens, feed: FakeFeed
) -> None:
    with qtbot.waitSignal(screens.results.board_loaded, timeout=WAIT_MS):
        feed.send(batch(Topic.RESULTS))
    with qtbot.waitSignal(screens.printers.queue_loaded, timeout=WAIT_MS):
        feed.send(batch(Topic.PRINT_JOBS))


def test_a_resync_reloads_every_screen(qtbot: QtBot, screens: Screens, feed: FakeFeed) -> None:
    before = screens.reloads()
    feed.send(ChangeBatch(resync=True))
    _settle(qtbot)
    assert _more(before, screens.reloads()) == set(before)


def test_reconnecting_shows_the_strip_and_live_hides_it(
    qtbot: QtBot,
    screens: Screens,
    feed: FakeFeed,
    live: LiveUpdates,
    user_named: Callable[[str], SignedInUser],
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    bar = StatusBar(user_named("sam"), "DRAW-2", "SQLite test", "")
    qtbot.addWidget(bar)
    live.state_changed.connect(bar.set_feed_state)
    bar.set_feed_state(live.state)
    pages = [screens.results, screens.station, screens.courier, screens.receiving]
    assert bar.live_label.text() == "Live"
    assert not any(page.reconnecting for page in pages)

    feed.state(FeedState.RECONNECTING)
    qtbot.waitUntil(lambda: all(page.reconnecting for page in pages), timeout=WAIT_MS)
    assert screens.results.reconnecting_strip.isVisible()
    assert "Reconnecting to the server" in screens.results.reconnecting_strip.text()
    assert bar.live_label.text() == "Reconnecting…"
    screenshot(screens.results, "results_board_reconnecting")

    feed.state(FeedState.LIVE)
    qtbot.waitUntil(lambda: not any(page.reconnecting for page in pages), timeout=WAIT_MS)
    assert not screens.results.reconnecting_strip.isVisible()
    assert bar.live_label.text() == "Live"


def test_a_hidden_screen_reloads_when_it_is_shown(
    qtbot: QtBot, screens: Screens, feed: FakeFeed
) -> None:
    view = screens.results.live_view
    assert view is not None
    screens.results.hide()
    before = view.reloads
    feed.send(batch(Topic.RESULTS), batch(Topic.ACKS))
    _settle(qtbot)
    assert view.reloads == before
    assert view.stale
    with qtbot.waitSignal(screens.results.board_loaded, timeout=WAIT_MS):
        screens.results.show()
    assert view.reloads == before + 1
    assert not view.stale


def test_a_burst_of_100_batches_gives_a_bounded_number_of_loads(
    qtbot: QtBot, screens: Screens, feed: FakeFeed
) -> None:
    boards: list[int] = []
    worklists: list[int] = []
    screens.results.board_loaded.connect(boards.append)
    screens.station.find_step.worklist_shown.connect(worklists.append)
    feed.send(*(batch(Topic.RESULTS, Topic.ORDERS) for _ in range(100)))
    _settle(qtbot)
    _settle(qtbot)
    # One load starts at once; everything arriving while it runs folds into one more.
    assert 1 <= len(boards) <= 2
    assert 1 <= len(worklists) <= 2
    view = screens.station.worklist_live
    assert view is not None
    assert not view.loading


def test_a_failed_worklist_reload_keeps_its_rows_says_why_and_does_not_block_the_next(
    qtbot: QtBot, screens: Screens, feed: FakeFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = screens.station.find_step
    view = screens.station.worklist_live
    assert view is not None
    rows = [step.waiting_model.row_at(n) for n in range(step.waiting_model.rowCount())]

    def locked(*_args: object) -> object:
        raise StorageError("The database is busy.", hint="Try again in a moment.")

    monkeypatch.setattr(find_step_module, "station_worklist", locked)
    with qtbot.waitSignal(step.worklist_failed, timeout=WAIT_MS) as failed:
        feed.send(batch(Topic.ORDERS))
    assert "The database is busy" in failed.args[0]
    assert step.worklist_label.is_error
    assert "Try again in a moment" in step.worklist_label.text()
    assert [step.waiting_model.row_at(n) for n in range(step.waiting_model.rowCount())] == rows
    assert not view.loading
    assert view.failures == 1

    monkeypatch.undo()
    with qtbot.waitSignal(step.worklist_shown, timeout=2_000):  # at once, not in 30 s
        feed.send(batch(Topic.ORDERS))
    assert not step.worklist_label.is_error


@pytest.mark.parametrize(
    ("screen", "module", "name", "topic"),
    [
        ("print queue", printers_panel_module, "list_print_jobs", Topic.PRINT_JOBS),
        ("courier transit", custody_widgets_module, "in_transit_flags", Topic.CUSTODY),
    ],
)
def test_a_failed_live_reload_is_counted_and_does_not_block_the_next(
    qtbot: QtBot,
    screens: Screens,
    feed: FakeFeed,
    monkeypatch: pytest.MonkeyPatch,
    screen: str,
    module: Any,
    name: str,
    topic: Topic,
) -> None:
    view = screens.views()[screen]

    def locked(*_args: object, **_kwargs: object) -> object:
        raise StorageError("The database is busy.", hint="Try again in a moment.")

    monkeypatch.setattr(module, name, locked)
    feed.send(batch(topic))
    qtbot.waitUntil(lambda: view.failures == 1, timeout=WAIT_MS)
    _settle(qtbot)
    assert not view.loading  # never stuck until the load timeout
    monkeypatch.undo()
    before = view.reloads
    feed.send(batch(topic))
    qtbot.waitUntil(lambda: view.reloads > before, timeout=2_000)  # at once, not in 30 s
    _settle(qtbot)
    assert view.failures == 1


def test_a_live_board_waits_for_its_next_deadline_instead_of_polling(
    qtbot: QtBot, screens: Screens
) -> None:
    board = screens.results
    assert not board.poll_timer.isActive()
    assert board.due_timer.isActive()
    assert board.due_timer.isSingleShot()
    loaded = board._board
    assert loaded is not None
    due_in = replace(loaded, next_due_s=loaded.now_s + 90.0)
    assert board.seconds_to_due(due_in) == pytest.approx(90.0 + DUE_SLACK_S)
    assert board.seconds_to_due(replace(loaded, next_due_s=None)) == LONGEST_WAIT_S
    far = replace(loaded, next_due_s=loaded.now_s + 10 * LONGEST_WAIT_S)
    assert board.seconds_to_due(far) == LONGEST_WAIT_S
    assert board.due_timer.interval() == int(board.seconds_to_due(loaded) * 1000)

    view = board.live_view
    assert view is not None
    reloads = view.reloads
    with qtbot.waitSignal(board.board_loaded, timeout=WAIT_MS):
        board.due_timer.timeout.emit()  # the deadline passed
    assert view.reloads == reloads + 1
    assert board.due_timer.isActive()  # the load set the next one

    board.hide()
    board.due_timer.timeout.emit()
    _settle(qtbot)
    assert view.reloads == reloads + 1
    assert view.stale  # a hidden board reloads when shown again


def _on_the_road(picked_up_at: datetime, minutes: int, stability: datetime | None) -> Any:
    return TransitFlagRow(
        specimen_id=1,
        accession="A1",
        container_code="SST",
        temperature_class=TemperatureClass.AMBIENT,
        site_code="CLINIC",
        manifest_number="M1",
        picked_up_at=picked_up_at,
        picked_up_by="Chris",
        expected_minutes=minutes,
        stability_deadline=stability,
        flags=(),
    )


def test_a_live_transit_panel_waits_for_the_next_flag_instead_of_polling(
    qtbot: QtBot, screens: Screens
) -> None:
    panel = screens.courier.transit
    assert panel._timer.isSingleShot()
    assert panel._timer.isActive()
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    soon = _on_the_road(now - timedelta(minutes=80), 90, None)  # overdue in 10 minutes
    later = _on_the_road(now, 90, now + timedelta(minutes=20))  # unstable in 20
    assert panel.wait_ms([soon, later], now) == 10 * 60_000 + TRANSIT_SLACK_MS
    assert panel.wait_ms([later], now) == 20 * 60_000 + TRANSIT_SLACK_MS
    assert panel.wait_ms([], now) == TRANSIT_LONGEST_WAIT_MS
    view = panel.live_view
    assert view is not None
    reloads = view.reloads
    with qtbot.waitSignal(panel.loaded, timeout=WAIT_MS):
        panel._timer.timeout.emit()  # a specimen became overdue
    assert view.reloads == reloads + 1
    assert panel._timer.isActive()  # the load set the next one


def test_stopping_the_app_stops_the_feed(live: LiveUpdates, feed: FakeFeed) -> None:
    live.stop()
    assert feed.stopped
    assert live.state is FeedState.STOPPED


# ---------------------------------------------------------------- end to end


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database two stations share: a SQLite file, or the PostgreSQL session's."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    session = request.getfixturevalue("pg_session")
    session.fresh_migrated().dispose()
    return str(session.url)


@pytest.fixture
def two_stations(shared_url: str, tmp_path: Path) -> Iterator[tuple[Core, Core]]:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    cores: list[Core] = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        config = Config(database_url=shared_url, data_dir=folder, station_code=f"DRAW-{name}")
        cores.append(bootstrap(config, clock=clock, auto_upgrade=shared_url.startswith("sqlite")))
    yield cores[0], cores[1]
    wait_for_background_jobs()
    for core in cores:
        core.close()


def test_a_pickup_scan_at_one_station_shows_on_the_other_stations_manifest(
    qtbot: QtBot, two_stations: tuple[Core, Core]
) -> None:
    first, second = two_stations
    world = World.build(first.uow, first.clock)
    courier = world.users["chris"]
    ready = [world.specimen() for _ in range(2)]
    live = LiveUpdates(open_feed(second.config))
    live.start()
    try:
        qtbot.waitUntil(lambda: live.state is FeedState.LIVE, timeout=WAIT_MS)
        page = CourierPage(context_of(second, live), courier)
        qtbot.addWidget(page)
        page.resize(1280, 800)
        page.show()
        qtbot.waitUntil(lambda: page.site_box.count() == 2, timeout=WAIT_MS)
        with qtbot.waitSignal(page.manifest_loaded, timeout=WAIT_MS):
            page.start_button.click()
        assert page.manifest is not None
        assert page.ready_model.rowCount() == 2
        number = page.manifest.number

        # The same courier's second device (the other station) scans one tube.
        first.bus.handle(ScanPickup(manifest_number=number, scanned=ready[0]), courier)

        qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5_000)
        assert page.model.row_at(0).accession == ready[0]
        assert [page.ready_model.row_at(0).accession] == [ready[1]]
        assert page.live_view is not None
        assert page.live_view.reloads >= 1
    finally:
        live.stop()


def test_a_new_manifest_elsewhere_is_not_shown_on_a_page_without_one(
    qtbot: QtBot, two_stations: tuple[Core, Core]
) -> None:
    """A change the page does not show (no pickup open) reads nothing."""
    first, second = two_stations
    world = World.build(first.uow, first.clock)
    live = LiveUpdates(open_feed(second.config))
    live.start()
    try:
        qtbot.waitUntil(lambda: live.state is FeedState.LIVE, timeout=WAIT_MS)
        page = CourierPage(context_of(second, live), world.users["chris"])
        qtbot.addWidget(page)
        page.show()
        qtbot.waitUntil(lambda: page.site_box.count() == 2, timeout=WAIT_MS)
        world.specimen()
        first.bus.handle(
            StartPickup(site_code="CLINIC", route_code="CLINIC-LAB", station_code="DRAW-a"),
            world.users["chris"],
        )
        view = page.live_view
        assert view is not None
        qtbot.waitUntil(lambda: view.reloads >= 1, timeout=5_000)
        assert page.manifest is None
        assert not view.loading
    finally:
        live.stop()
