"""``labdesk bench`` scenario measured on screen: a wristband scan until the plan is painted.

Listed in :mod:`bench.scenarios`. The widgets live in a worker subprocess
(``python -m bench.ui.station_screen URL SEED CALLS``), so the bench process never starts
Qt: an offscreen :class:`~ui.station.page.StationPage` on the benchmark database receives
the scan the way the scanner router delivers it, and each call runs from the scan until the
page has shown the encounter (orders and draw plan filled in by the background job) and has
been repainted: the thread hop, the model resets and the painting included, plus a pipe
round trip (well under a millisecond). The floor does the bare-SQL reads of
``station-scan-plan`` and repaints a plain ``QTableView`` given the same number of rows, in
the same worker.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QTableView

from bench.core import station as core_station
from bench.harness.errors import BenchError
from bench.harness.model import Context, Scenario
from labdesk.config import Config
from labdesk.domain.clock import FixedClock
from ui.context import AppContext
from ui.tasks import wait_for_background_jobs

SCREEN_TARGET_MS = 30.0
"""Issue 14's SQLite target for a wristband scan until the plan is painted (PostgreSQL's scan
to plan, 50 ms, is ``station-scan-plan``'s line in the PostgreSQL targets)."""
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
    from ui.station.page import StationPage  # after the QApplication exists

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
    """Scan a wristband and wait until the plan is on screen.

    The main thread sleeps in the event loop until the page says it has shown the
    encounter (no polling: a polling loop would hold the GIL the worker thread needs).
    """
    state.page.controller.close()
    state.shown.clear()
    loop = QEventLoop()
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    state.page.view_shown.connect(loop.quit)
    try:
        timer.start(TIMEOUT_MS)
        state.page.handle_patient_scan(state.scan.key(i))
        if not state.shown:
            loop.exec()
    finally:
        state.page.view_shown.disconnect(loop.quit)
        timer.stop()
    if not state.shown:
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


@dataclass
class Worker:
    """The parent's handle on the worker process."""

    process: subprocess.Popen[str]

    def call(self, command: str) -> None:
        """Send one command and wait for its ``ok``.

        Raises:
            BenchError: if the worker reports an error or died.
        """
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        if answer != "ok":
            raise BenchError(f"The on-screen worker failed: {answer or 'it exited'}")


def worker_setup(ctx: Context) -> Worker:
    """Start the worker on this size's database and wait until its page is ready."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    seed = ctx.rng.randrange(1 << 30)
    command = [sys.executable, "-m", "bench.ui.station_screen", ctx.db().info.url, str(seed)]
    process = subprocess.Popen(
        [*command, str(ctx.calls), str(ctx.workdir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    worker = Worker(process)
    worker.call("ready")
    return worker


def worker_teardown(worker: Worker) -> None:
    """Ask the worker to clean up and exit."""
    try:
        worker.call("quit")
    finally:
        worker.process.wait(timeout=30)


def scenarios() -> list[Scenario[Any]]:
    """The on-screen station scenario."""
    return [
        Scenario(
            name="station-scan-screen",
            title="Station: wristband scan until the draw plan is painted (offscreen Qt)",
            setup=worker_setup,
            run_once=lambda worker, i: worker.call(f"run {i}"),
            floor=lambda worker, i: worker.call(f"floor {i}"),
            target_p95_ms=SCREEN_TARGET_MS,
            in_process=False,  # the work happens in the worker process
            teardown=worker_teardown,
        )
    ]


def main(argv: list[str]) -> int:
    """The worker: set up the page, then answer ``run i`` / ``floor i`` / ``quit``."""
    from bench.data.datagen import BenchDb
    from bench.harness.runner import open_database

    url, seed, calls, workdir = argv[1], int(argv[2]), int(argv[3]), Path(argv[4])
    database = open_database(BenchDb(url, 0, 0, seed, 0.0))
    ctx = Context(workdir=workdir, rng=random.Random(seed), calls=calls, database=database)
    state = setup(ctx)
    for line in sys.stdin:
        command, _, number = line.strip().partition(" ")
        try:
            if command == "run":
                scan_on_screen(state, int(number))
            elif command == "floor":
                floor(state, int(number))
            elif command == "quit":
                teardown(state)
                _answer("ok")
                break
            _answer("ok")
        except Exception as exc:  # reported to the parent, which records the error
            _answer(f"{type(exc).__name__}: {exc}".replace("\n", " "))
    sys.stdout.flush()
    # Skip interpreter finalization: PySide6 objects torn down at exit can crash it, and
    # the measurements are already reported.
    os._exit(0)


def _answer(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
