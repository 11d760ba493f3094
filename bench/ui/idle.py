"""An idle station's query rate, and how fast a change reaches another station's screen.

The issue's budget: "an idle station issues no more than a few queries per minute". The
worker (``python -m bench.ui.idle``, offscreen Qt, its own process) builds the app the way
``ui/app.py`` does (core, change feed, main window, session guard, print spooler and
printer monitor) for a signed-in user, lets the first loads finish, then sits idle for N
seconds while counting every SQL statement: SQLAlchemy's ``before_cursor_execute`` on the
app's engine plus the change feed's own statements (``feed.statements``). It reports
statements per minute for each screen of :data:`SCREENS` (results board, station worklist,
courier, lab receiving, print queue), with the change feed (live updates) and without it
(``--no-live``: the screens poll as they did before the feed). The app's clock starts at
the demo's "now" and runs in real time, so deadlines pass as they would in a clinic.

Run it by hand::

    python -m bench.ui.idle --quick              # 10 s per screen, a demo SQLite file
    python -m bench.ui.idle --seconds 60 --database-url postgresql+psycopg://...  # migrated
    python -m bench.ui.idle --no-live --json     # the polling screens, machine-readable

``labdesk bench`` runs :func:`scenarios`: ``live-update-screen`` measures a result stored
at one station until the other station's open board has reloaded and shows it (target
1 s, the issue's), against the floor of the same commit until the second station's feed
has told its UI thread. Its setup also measures the idle rate (65 s per screen) and
fails the scenario when one is above :data:`IDLE_BUDGET_PER_MIN`, naming the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness.errors import BenchError
from bench.harness.model import Context, Scenario

IDLE_BUDGET_PER_MIN = 6.0
"""A few statements per minute: what an idle station may run (the issue's budget)."""
SETTLE_S = 3.0
"""Time given to the first loads before counting starts."""
SCENARIO_IDLE_S = 65.0
"""Idle time per screen in the scenario's setup: more than a minute, so a screen that
re-reads on a minute timer is caught."""
QUICK_IDLE_S = 10.0
FULL_IDLE_S = 60.0
LIVE_TARGET_MS = 1000.0
TIMEOUT_MS = 10_000
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DEMO_PATIENTS = 40


@dataclass(frozen=True)
class IdleRate:
    """What one idle screen ran."""

    screen: str
    live: bool
    seconds: float
    app_statements: int
    feed_statements: int

    @property
    def per_minute(self) -> float:
        """Statements per minute, the app's and the feed's together."""
        total = self.app_statements + self.feed_statements
        return total * 60.0 / self.seconds if self.seconds > 0 else float("inf")


class RunningClock:
    """A clock that starts at ``start`` and then runs with the real one."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        """``start`` plus the real time elapsed since this clock was made."""
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


class StatementCounter:
    """Counts every statement an engine sends (``before_cursor_execute``, any thread)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self._lock = threading.Lock()
        self.count = 0
        self.trace: list[str] | None = None
        """When a list: each statement's first line is appended (``--trace``)."""
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        with self._lock:
            self.count += 1
            if self.trace is not None:
                self.trace.append(" ".join(statement.split())[:110])


# ---------------------------------------------------------------- the worker (Qt)


def _application() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    app = QCoreApplication.instance()
    if isinstance(app, QApplication):
        return app
    if app is not None:
        raise BenchError("A non-GUI Qt application is already running in this process.")
    return QApplication(["labdesk-bench-idle"])


def _spin(seconds: float, done: Callable[[], bool] = lambda: False) -> bool:
    """Run the event loop for ``seconds`` or until ``done()``; True if ``done()``."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + seconds
    loop = QEventLoop()
    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        QTimer.singleShot(int(min(left, 0.05) * 1000) + 1, loop.quit)
        loop.exec()
    return True


def demo_database(folder: Path) -> str:
    """A SQLite file with the demo clinic (patients in every state), migrated and seeded."""
    from labdesk.bootstrap import bootstrap
    from labdesk.config import Config
    from labdesk.domain.clock import FixedClock
    from labdesk.seed.demo import seed_demo

    path = folder / "idle.sqlite3"
    if not path.exists():
        core = bootstrap(Config(database_url=f"sqlite:///{path}", data_dir=folder))
        try:
            with core.uow() as uow:
                seed_demo(uow, FixedClock(NOW), patients=DEMO_PATIENTS, seed=3)
                uow.commit()
        finally:
            core.close()
    return f"sqlite:///{path}"


class Station:
    """One workstation as ``ui/app.py`` assembles it, on ``url``, for ``username``."""

    def __init__(self, url: str, folder: Path, username: str, *, live: bool) -> None:
        from labdesk.access.auth import session_of
        from labdesk.bootstrap import bootstrap
        from labdesk.config import Config
        from labdesk.seed.demo import DEMO_STATION

        folder.mkdir(parents=True, exist_ok=True)
        config = Config(
            database_url=url,
            data_dir=folder,
            station_code=DEMO_STATION,
            label_printer_uri=f"file://{(folder / 'labels').as_posix()}",
        )
        self.core = bootstrap(config, clock=RunningClock(NOW), interactive=True)  # as the app
        self.counter = StatementCounter(self.core.engine)
        with self.core.uow() as uow:
            found = uow.people.user_by_username(username)
            if found is None:
                raise BenchError(f"No user {username!r} in {url}: seed the demo first.")
            self.user = session_of(found, config.station_code)
        self.live: Any = None
        self.window: Any = None
        self.guard: Any = None
        self.spooler: Any = None
        self._with_live = live
        self.trace = False

    def open(self) -> None:
        """Start the feed (when live), the spooler and the main window, shown."""
        from ui.app import context_of
        from ui.main_window import MainWindow
        from ui.printing.printer_monitor import start_spooler
        from ui.session.session_guard import SessionGuard

        if self._with_live:
            from labdesk.live_feed import open_feed
            from ui.live import LiveUpdates

            self.live = LiveUpdates(open_feed(self.core.config))
            self.live.start()
            context = context_of(self.core, self.live)
        else:
            context = context_of(self.core)
        self.spooler = start_spooler(context, None)  # type: ignore[arg-type]
        self.window = MainWindow(context, self.user)
        self.guard = SessionGuard(self.window, context, self.user)
        self.window.resize(1280, 800)
        self.window.show()

    def show(self, page: str | None) -> None:
        """Show ``page`` of :data:`SCREENS` (None: the user's first page, already shown)."""
        from ui.navigation import PageId

        if page == "print queue":
            self.window.show_page(PageId.ADMIN)
            admin = self.window.page(PageId.ADMIN)
            admin.tabs.setCurrentWidget(admin.printers)
        elif page is not None:
            self.window.show_page(PageId(page))

    @property
    def feed_statements(self) -> int:
        """Statements the change feed has run (0 without one, or for a feed not counting)."""
        if self.live is None:
            return 0
        return int(getattr(self.live.feed, "statements", 0))

    def idle(self, seconds: float, screen: str) -> IdleRate:
        """Sit idle for ``seconds`` (after the first loads settled) and count."""
        _spin(SETTLE_S)
        app0, feed0 = self.counter.count, self.feed_statements
        if self.trace:
            self.counter.trace = []
        started = time.monotonic()
        _spin(seconds)
        elapsed = time.monotonic() - started
        for line in self.counter.trace or ():
            print(f"  {screen}: {line}", file=sys.stderr)  # noqa: T201 - asked for
        return IdleRate(
            screen=screen,
            live=self.live is not None,
            seconds=elapsed,
            app_statements=self.counter.count - app0,
            feed_statements=self.feed_statements - feed0,
        )

    def close(self) -> None:
        """Stop everything this station started, then release the database."""
        from ui.tasks import wait_for_background_jobs

        if self.guard is not None:
            self.guard.stop()
        if self.spooler is not None:
            self.spooler.stop()
        if self.live is not None:
            self.live.stop()
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
        wait_for_background_jobs()
        _spin(0.05)
        self.core.close()


SCREENS = (
    ("results board", "doctor", None),
    ("station", "ma", None),
    ("courier", "courier", None),
    ("lab receiving", "lab", None),
    ("print queue", "admin", "print queue"),
)
"""(screen, demo user, what to show: None for the user's first page)."""


def measure_idle(
    url: str, folder: Path, seconds: float, *, live: bool, trace: bool = False
) -> list[IdleRate]:
    """The idle rate of each of :data:`SCREENS` on ``url`` (``trace``: statements on stderr)."""
    _application()
    rates = []
    for n, (screen, username, page) in enumerate(SCREENS):
        station = Station(url, folder / f"station-{n}", username, live=live)
        station.trace = trace
        try:
            station.open()
            station.show(page)
            rates.append(station.idle(seconds, screen))
        finally:
            station.close()
    return rates


class LiveLatency:
    """Two stations on one database: the second shows the board, the first stores results."""

    def __init__(self, url: str, folder: Path) -> None:
        _application()
        self.writer = Station(url, folder / "writer", "doctor", live=False)
        self.reader = Station(url, folder / "reader", "doctor", live=True)
        self.reader.open()
        board = self.reader.window.pages.currentWidget()
        self.board = board
        self.loads = 0
        self.batches = 0
        board.board_loaded.connect(self._loaded)
        self.reader.live.changes.connect(self._batch)
        _spin(SETTLE_S)
        self.test_id, self.specimen_id = self._open_test()

    def _loaded(self, _rows: int) -> None:
        self.loads += 1

    def _batch(self, _batch: object) -> None:
        self.batches += 1

    def _open_test(self) -> tuple[int, int]:
        model = self.board.model
        for n in range(model.rowCount()):
            row = model.row_at(n)
            with self.writer.core.uow() as uow:
                test = uow.board.ordered_test(row.ordered_test_id)
                if test is not None and test.specimen_id is not None:
                    return row.ordered_test_id, test.specimen_id
        raise BenchError("The demo board has no test with a specimen to store a result for.")

    def store_result(self, i: int) -> None:
        """Store one result for the board's test at the writing station (committed)."""
        from labdesk.domain.result import AbnormalFlag, Result, ResultStatus

        with self.writer.core.uow() as uow:
            uow.results.add(
                Result(
                    observation_code="2823-3",
                    observation_name="Potassium",
                    value=f"{4 + (i % 10) / 10:.1f}",
                    units="mmol/L",
                    abnormal_flag=AbnormalFlag.NORMAL,
                    status=ResultStatus.FINAL,
                    received_at=NOW + timedelta(seconds=i + 1),
                    ordered_test_id=self.test_id,
                    specimen_id=self.specimen_id,
                )
            )
            uow.commit()

    def until_shown(self, i: int) -> None:
        """Store a result, then wait until the reader's board has reloaded after it."""
        _spin(0.5, lambda: not self.board._loading)  # a load still running
        loads = self.loads
        self.store_result(i)
        if not _spin(TIMEOUT_MS / 1000, lambda: self.loads > loads):
            raise BenchError("The other station's board did not reload within 10 s.")

    def until_heard(self, i: int) -> None:
        """The floor: store a result, wait until the reader's UI thread has the batch.

        The board does not reload for it (its view watches no topic meanwhile): a reload
        still running when the next timed call begins would be counted in that call.
        """
        _spin(0.5, lambda: not self.board._loading)  # a load still running
        view = self.board.live_view
        watched, view.topics = view.topics, frozenset()
        try:
            batches = self.batches
            self.store_result(i)
            if not _spin(TIMEOUT_MS / 1000, lambda: self.batches > batches):
                raise BenchError("The other station's feed did not hear the change within 10 s.")
        finally:
            view.topics = watched

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


def _worker(argv: list[str]) -> int:
    """``--worker URL FOLDER``: the scenario's worker, one command per stdin line."""
    url, folder = argv[0], Path(argv[1])
    state = LiveLatency(url, folder)
    _answer("ready")
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        try:
            if command == "run":
                state.until_shown(int(arg))
            elif command == "floor":
                state.until_heard(int(arg))
            elif command == "quit":
                state.close()
                _answer("ok")
                break
            _answer("ok")
        except Exception as exc:  # reported to the parent, which records the error
            _answer(f"{type(exc).__name__}: {exc}".replace("\n", " "))
    sys.stdout.flush()
    os._exit(0)  # skip PySide6 teardown at exit; everything is reported


def _answer(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- the bench side (no Qt)


@dataclass
class Worker:
    """The parent's handle on a worker process."""

    process: subprocess.Popen[str]

    def call(self, command: str) -> str:
        """Send one command and return its answer (``ok`` or ``ok <figures>``).

        Raises:
            BenchError: if the worker reports an error or died.
        """
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def read(self) -> str:
        """The worker's next answer.

        Raises:
            BenchError: if it is an error or the worker died.
        """
        assert self.process.stdout is not None
        answer = self.process.stdout.readline().strip()
        if answer not in ("ok", "ready") and not answer.startswith("ok "):
            raise BenchError(f"The live-update worker failed: {answer or 'it exited'}")
        return answer


def _spawn(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen(
        [sys.executable, "-m", "bench.ui.idle", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def idle_in_subprocess(url: str, folder: Path, seconds: float, *, live: bool) -> list[IdleRate]:
    """:func:`measure_idle` in a worker process (the caller never starts Qt).

    Raises:
        BenchError: if the worker fails.
    """
    args = ["--database-url", url, "--seconds", str(seconds), "--json", "--workdir", str(folder)]
    done = subprocess.run(
        [sys.executable, "-m", "bench.ui.idle", *args, *([] if live else ["--no-live"])],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=seconds * len(SCREENS) + 120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"The idle worker failed: {done.stderr.strip()[-600:]}")
    return [IdleRate(**row) for row in json.loads(done.stdout)]


def _setup(ctx: Context) -> Worker:
    """The demo database, the idle rate (within budget, else an error), then the worker."""
    folder = ctx.workdir / "live-update"
    folder.mkdir(parents=True, exist_ok=True)
    url = demo_database_in_subprocess(folder)
    rates = idle_in_subprocess(url, folder / "idle", SCENARIO_IDLE_S, live=True)
    for rate in rates:
        if rate.per_minute > IDLE_BUDGET_PER_MIN:
            raise BenchError(
                f"An idle station on the {rate.screen} ran {rate.per_minute:.1f} SQL "
                f"statements a minute (budget {IDLE_BUDGET_PER_MIN:g})."
            )
    worker = Worker(_spawn(["--worker", url, str(folder / "stations")]))
    worker.read()
    return worker


def demo_database_in_subprocess(folder: Path) -> str:
    """:func:`demo_database`, built in a child process (it imports the whole core)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.ui.idle", "--build-only", "--workdir", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"The demo database was not built: {done.stderr.strip()[-600:]}")
    return done.stdout.strip().splitlines()[-1]


def _teardown(worker: Worker) -> None:
    try:
        worker.call("quit")
    finally:
        worker.process.wait(timeout=30)


def scenarios() -> list[Scenario[Any]]:
    """The live-update scenario (its setup checks the idle rate)."""
    return [
        Scenario(
            name="live-update-screen",
            title="Result stored at one station until another's open board shows it",
            setup=_setup,
            run_once=lambda worker, i: worker.call(f"run {i}"),
            floor=lambda worker, i: worker.call(f"floor {i}"),
            target_p95_ms=LIVE_TARGET_MS,
            per_size=False,
            in_process=False,
            iterations=20,
            teardown=_teardown,
        )
    ]


# ---------------------------------------------------------------- command line


def _print_table(rates: list[IdleRate]) -> None:
    print(f"{'screen':<16}{'live':<6}{'seconds':>8}{'app':>6}{'feed':>6}{'per min':>9}")  # noqa: T201
    for r in rates:
        print(  # noqa: T201 - the report
            f"{r.screen:<16}{'yes' if r.live else 'no':<6}{r.seconds:>8.1f}"
            f"{r.app_statements:>6}{r.feed_statements:>6}{r.per_minute:>9.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    """Measure the idle rate (see the module docstring), or serve as the scenario's worker."""
    args_in = sys.argv[1:] if argv is None else argv
    if args_in and args_in[0] == "--worker":
        return _worker(args_in[1:])
    parser = argparse.ArgumentParser(prog="python -m bench.ui.idle", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_IDLE_S:g} s per screen")
    parser.add_argument("--seconds", type=float, help=f"idle time per screen ({FULL_IDLE_S:g})")
    parser.add_argument("--database-url", help="a migrated database with the demo's users")
    parser.add_argument("--no-live", action="store_true", help="without the change feed")
    parser.add_argument("--json", action="store_true", help="print JSON rows")
    parser.add_argument("--trace", action="store_true", help="print each idle statement")
    parser.add_argument("--workdir", type=Path, help="where the demo file and data go")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(args_in)
    with tempfile.TemporaryDirectory(prefix="labdesk-idle-") as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        url = args.database_url or demo_database(folder)
        if args.build_only:
            print(url)  # noqa: T201 - the parent reads it
            return 0
        seconds = args.seconds or (QUICK_IDLE_S if args.quick else FULL_IDLE_S)
        rates = measure_idle(url, folder, seconds, live=not args.no_live, trace=args.trace)
        if args.json:
            print(json.dumps([asdict(r) for r in rates]))  # noqa: T201 - the parent reads it
        else:
            _print_table(rates)
    sys.stdout.flush()
    os._exit(0)  # skip PySide6 teardown at exit


if __name__ == "__main__":
    sys.exit(main())
