"""``labdesk bench`` scenario measured on screen: a wristband scan until the plan is painted.

Contributed through the ``labdesk.bench_scenarios`` entry point (the core never imports Qt).
An offscreen :class:`~ui.pages.station.StationPage` on the benchmark database receives the
scan the way the scanner router delivers it; the clock runs from the scan until the page
has shown the encounter (orders and draw plan filled in from the background job) and has
been repainted, so it includes the thread hop, the model resets and the painting. The
floor does the bare-SQL reads of ``station-scan-plan`` and repaints a plain
``QTableView`` given the same number of rows.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QTableView

from labdesk.bench import station as core_station
from labdesk.bench.errors import BenchError
from labdesk.bench.model import Context, Scenario
from labdesk.config import Config
from labdesk.domain.clock import FixedClock
from ui.context import AppContext
from ui.tasks import wait_for_background_jobs

SCREEN_TARGET_MS = 50.0
TIMEOUT_MS = 10_000


@dataclass
class OnScreen:
    """The page, its scans and the floor's table."""

    scan: core_station.ScanState
    page: Any
    table: QTableView
    shown: list[object]


def _application() -> QApplication:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QCoreApplication.instance()
    if isinstance(app, QApplication):
        return app
    if app is not None:
        raise BenchError("A non-GUI Qt application is already running in this process.")
    return QApplication(["labdesk-bench"])


def setup(ctx: Context) -> OnScreen:
    """An offscreen station page on the benchmark database."""
    from ui.pages.station import StationPage  # after the QApplication exists

    _application()
    scan = core_station.scan_setup(ctx)
    db = scan.db
    context = AppContext(
        config=Config(
            database_url=db.info.url, data_dir=ctx.workdir, station_code=core_station.STATION_CODE
        ),
        uow=db.uow,
        clock=FixedClock(datetime(2026, 6, 1, 9, tzinfo=UTC)),
        database_description="bench",
    )
    page = StationPage(context, scan.actor)
    page.feedback.audible = False
    page.resize(1280, 800)
    page.show()
    shown: list[object] = []
    page.view_shown.connect(shown.append)
    table = QTableView()
    table.resize(1100, 300)
    table.show()
    _spin(lambda: False, 200)  # let the worklist load and the first paint happen
    return OnScreen(scan, page, table, shown)


def _spin(done: Any, timeout_ms: int) -> bool:
    """Run the event loop until ``done()`` or the timeout."""
    deadline = time.monotonic() + timeout_ms / 1000
    loop = QEventLoop()
    while not done():
        if time.monotonic() > deadline:
            return False
        QTimer.singleShot(1, loop.quit)
        loop.exec()
    return True


def scan_on_screen(state: OnScreen, i: int) -> object:
    """Scan a wristband and wait until the plan is on screen."""
    state.page.controller.close()
    state.shown.clear()
    state.page.handle_patient_scan(state.scan.key(i))
    if not _spin(lambda: bool(state.shown), TIMEOUT_MS):
        raise BenchError("The station did not show the patient within 10 s.")
    state.page.repaint()
    return state.shown[0]


def floor(state: OnScreen, i: int) -> object:
    """The bare-SQL reads, then a plain table repainted with that many rows."""
    tests = core_station.scan_floor(state.scan, i)
    model = QStandardItemModel(max(1, len(tests)), 8)
    for row in range(model.rowCount()):
        for column in range(8):
            model.setItem(row, column, QStandardItem(f"{row}:{column}"))
    state.table.setModel(model)
    state.table.repaint()
    return model


def teardown(state: OnScreen) -> None:
    """Close and delete the widgets (jobs finished first), remove the run's encounters."""
    wait_for_background_jobs()
    _spin(lambda: False, 50)  # deliver the last job's callbacks
    for widget in (state.page, state.table):
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    core_station.scan_teardown(state.scan)


def scenarios() -> list[Scenario[Any]]:
    """The on-screen station scenario."""
    return [
        Scenario(
            name="station-scan-screen",
            title="Station: wristband scan until the draw plan is painted (offscreen Qt)",
            setup=setup,
            run_once=scan_on_screen,
            floor=floor,
            target_p95_ms=SCREEN_TARGET_MS,
            in_process=False,  # the service runs on a pool thread: this thread's CPU is not it
            teardown=teardown,
        )
    ]
