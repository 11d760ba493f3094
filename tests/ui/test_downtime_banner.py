"""The offline banner and the status bar indicator follow the station's mode (issue 12).

A fake :class:`StationMode` drives the transitions; the heartbeat test uses a real
PostgreSQL server behind a black-holed loopback proxy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.downtime.mode import Connectivity, StationStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import MessageBus
from labdesk.ports import UowFactory
from ui.app import context_of
from ui.downtime.banner import banner_text, indicator_text
from ui.main_window import MainWindow

ONLINE = StationStatus(Connectivity.ONLINE, None, "", 0, 0, None)


class FakeMode:
    """A mode the test flips; subscribers are called from the flipping thread."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._status = ONLINE
        self._subscribers: list[Callable[[StationStatus], None]] = []
        self.callback_threads: list[threading.Thread] = []

    @property
    def uow(self) -> UowFactory:
        return self._core.uow

    @property
    def bus(self) -> MessageBus:
        return MessageBus(self._core.uow, self._core.clock)

    def status(self) -> StationStatus:
        return self._status

    def set(self, status: StationStatus) -> None:
        self._status = status
        for callback in list(self._subscribers):
            callback(status)

    def go_offline(self, reason: str) -> None:
        if self._status.connectivity is Connectivity.ONLINE:
            self.set(StationStatus(Connectivity.OFFLINE, datetime.now(UTC), reason, 0, 0, None))

    def resync(self) -> StationStatus:
        self.set(ONLINE)
        return self._status

    def subscribe(self, callback: Callable[[StationStatus], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)


def _window(qtbot: QtBot, core: Core, mode: FakeMode, user: SignedInUser) -> MainWindow:
    window = MainWindow(context_of(core, None, mode), user)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_texts() -> None:
    since = datetime(2026, 3, 2, 9, 14, tzinfo=UTC)
    offline = StationStatus(Connectivity.OFFLINE, since, "x", 3, 0, since)
    assert (
        banner_text(offline, "UTC") == "Working offline since 09:14: 3 actions waiting to be sent"
    )
    assert banner_text(ONLINE) == ""
    after = StationStatus(Connectivity.ONLINE, None, "", 0, 2, since)
    assert banner_text(after) == "Offline work from the last outage: 2 items to reconcile"
    one = StationStatus(Connectivity.OFFLINE, since, "x", 1, 2, None)
    assert banner_text(one, "UTC").endswith("1 action waiting to be sent; 2 to reconcile")
    assert (
        indicator_text(offline, since + timedelta(minutes=2))
        == "Offline · 3 queued · replica 2 min old"
    )
    assert indicator_text(ONLINE, since) == "Online · replica not refreshed yet"
    assert indicator_text(offline, since + timedelta(hours=5)).endswith("replica 5 h old")
    assert indicator_text(offline, since + timedelta(days=3)).endswith("replica 3 days old")


def test_banner_and_status_bar_across_transitions(
    qtbot: QtBot, core: Core, user_named: Callable[[str], SignedInUser]
) -> None:
    mode = FakeMode(core)
    window = _window(qtbot, core, mode, user_named("maria"))
    banner, bar = window.offline_banner, window.status_bar
    assert not banner.isVisible()
    assert bar.mode_label.text().startswith("Online")

    since = core.clock.now() - timedelta(minutes=5)  # the app's clock, as the status bar reads
    mode.set(StationStatus(Connectivity.OFFLINE, since, "the server did not answer", 4, 0, since))
    qtbot.waitUntil(lambda: banner.isVisible())
    local = since.astimezone(ZoneInfo(core.config.clinic_timezone)).strftime("%H:%M")
    assert banner.label.text() == f"Working offline since {local}: 4 actions waiting to be sent"
    assert bar.mode_label.text() == "Offline · 4 queued · replica 5 min old"
    assert bar.mode_label.toolTip() == "the server did not answer"

    mode.set(StationStatus(Connectivity.SYNCING, since, "", 2, 0, since))
    qtbot.waitUntil(lambda: banner.label.text().startswith("Server is back"))
    assert "2 actions waiting" in banner.label.text()
    assert bar.mode_label.text().startswith("Syncing…")

    mode.set(ONLINE)
    qtbot.waitUntil(lambda: not banner.isVisible())
    assert bar.mode_label.text().startswith("Online")


def test_status_change_from_another_thread(
    qtbot: QtBot, core: Core, user_named: Callable[[str], SignedInUser]
) -> None:
    mode = FakeMode(core)
    window = _window(qtbot, core, mode, user_named("maria"))
    applied_on: list[threading.Thread] = []
    original = window.offline_banner.set_status

    def spy(status: StationStatus) -> None:
        applied_on.append(threading.current_thread())
        original(status)

    assert window.mode_watcher is not None
    window.mode_watcher.changed.connect(spy)
    worker = threading.Thread(target=lambda: mode.go_offline("the server did not answer"))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: window.offline_banner.isVisible())
    qtbot.waitUntil(lambda: bool(applied_on))
    assert applied_on == [threading.main_thread()]


def test_screenshot_offline(
    qtbot: QtBot,
    core: Core,
    user_named: Callable[[str], SignedInUser],
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    mode = FakeMode(core)
    window = _window(qtbot, core, mode, user_named("maria"))
    since = datetime.now(UTC) - timedelta(minutes=12)
    mode.set(StationStatus(Connectivity.OFFLINE, since, "the server did not answer", 3, 0, since))
    qtbot.waitUntil(lambda: window.offline_banner.isVisible())
    path = screenshot(window, "downtime_offline")
    notes = Path("/work/notes/s22")
    if notes.is_dir():
        window.grab().save(str(notes / "offline.png"))
    assert path.exists()


@pytest.mark.postgres
def test_no_ui_stall_while_probing_black_hole(
    qtbot: QtBot,
    core: Core,
    user_named: Callable[[str], SignedInUser],
    pg_url: str,
) -> None:
    from sqlalchemy.engine import make_url

    from labdesk.adapters.net.tcp_proxy import TcpProxy
    from labdesk.downtime.heartbeat import Heartbeat, engine_probe

    mode = FakeMode(core)
    window = _window(qtbot, core, mode, user_named("maria"))
    url = make_url(pg_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        probe = engine_probe(proxy.rewrite_url(pg_url), timeout_s=2.0)
        probe()
        beat = Heartbeat(mode, probe, interval_s=0.3, timeout_s=2.0)
        gaps: list[float] = []
        last = [time.monotonic()]

        def tick() -> None:
            now = time.monotonic()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(tick)
        timer.start()
        beat.start()
        try:
            proxy.black_hole()
            qtbot.waitUntil(lambda: window.offline_banner.isVisible(), timeout=4000)
            qtbot.wait(500)
        finally:
            timer.stop()
            beat.stop()
    assert gaps
    assert max(gaps[1:]) < 0.1, f"UI thread stalled {max(gaps):.3f} s"


def test_board_says_not_available_offline(
    qtbot: QtBot, core: Core, user_named: Callable[[str], SignedInUser]
) -> None:
    from ui.downtime.offline_page import OfflineGate
    from ui.navigation import PageId
    from ui.results.page import ResultsPage

    mode = FakeMode(core)
    window = _window(qtbot, core, mode, user_named("sam"))
    gate = window.page(PageId.RESULTS)
    assert isinstance(gate, OfflineGate)
    assert isinstance(gate.inner, ResultsPage)
    assert not gate.offline
    worker = threading.Thread(target=lambda: mode.go_offline("the server did not answer"))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: gate.offline)
    assert gate.notice_label.text().startswith(
        "The results board across the clinic is not available offline: it needs the server."
    )
    assert "pickup scans and lab receipt keep working" in gate.notice_label.text()
    mode.set(ONLINE)
    qtbot.waitUntil(lambda: not gate.offline)


def test_sqlite_station_has_no_mode(core: Core) -> None:
    from labdesk.downtime.heartbeat import build_station_downtime
    from ui.app import _with_downtime

    assert build_station_downtime(core.config, core.uow, core.clock, backend="sqlite") is None
    assert _with_downtime(core) == (core, None)
    assert context_of(core).mode is None


def test_offline_refused_shows_its_message() -> None:
    from labdesk.downtime.mode import OfflineRefused
    from ui.widgets.errors import error_text

    text = error_text(OfflineRefused("Changing the catalog"))
    assert text.startswith("Changing the catalog needs the server")
    assert "pickup scans and lab receipt keep working" in text
