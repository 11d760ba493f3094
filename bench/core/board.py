"""Clinician board scenarios over 100,000 open tests: load, re-filter, hand to the model.

``board-load`` runs in process: a board load as the results page makes it (refresh check,
flag counts, clinicians, the default query's count and first page, criticals, the next
deadline). Its floor is every statement of one such load, recorded as the driver got them
and sent again on a bare ``sqlite3`` or psycopg connection (:mod:`bench.core.board_floor`).
The Qt side cannot run here (``labdesk`` never imports Qt), so ``board-refilter`` and
``board-model-reset`` talk to one long-lived worker process (``bench.ui.board_worker``) over
a pipe: each timed call is one command and its one-line answer, so the wall time is the
model's work (service query plus model reset) plus a pipe round trip (tens of microseconds).
The re-filter floor is the same query's count and page statements as bare SQL in that worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from typing import IO, Any

from sqlalchemy import Engine

from bench.core.board_data import BOARD_NOW, OPEN_TESTS, board_database
from bench.core.board_floor import Recorded, record, replay
from bench.harness.errors import BenchError
from bench.harness.model import Context, Scenario
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import OverduePolicy
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.results.board import load_board

LOAD_TARGET_MS = 150.0
REFILTER_TARGET_MS = 30.0
WORKER = (sys.executable, "-m", "bench.ui.board_worker")
BOARD_ITERATIONS = 80
"""Timed calls of each board scenario (ten passes over the worker's eight filters)."""
FILTERS = 8
"""How many filters the worker cycles through (its ``FILTERS``; the last one is empty)."""


@dataclass(frozen=True)
class BoardLoad:
    """State of ``board-load``."""

    engine: Engine
    uow: UnitOfWorkFactory
    url: str
    clock: FixedClock
    actor: SignedInUser
    policy: OverduePolicy
    expected: int = OPEN_TESTS
    """Fewest tests a load must list."""
    statements: Recorded = ()
    """One load's statements (the floor), recorded by :func:`_recorded`."""


def _load_setup(_ctx: Context) -> BoardLoad:
    info = board_database(open_tests=OPEN_TESTS)
    engine = make_engine(info.url)
    actor = SignedInUser(id=0, username="bench", display_name="Bench", role=Role.CLINICIAN,
                         initials="B")  # fmt: skip
    state = BoardLoad(
        engine=engine,
        uow=UnitOfWorkFactory(engine),
        url=info.url,
        clock=FixedClock(BOARD_NOW),
        actor=actor,
        policy=OverduePolicy(),
        expected=OPEN_TESTS,  # read now: tests make the board smaller
    )
    return _recorded(state)


def _load(state: BoardLoad, _i: int) -> object:
    with state.uow() as uow:
        board = load_board(uow, state.clock, state.actor, state.policy, audit=False)
    if board.total < state.expected:
        raise BenchError(f"The board listed {board.total} tests, expected {state.expected}.")
    return board


def _recorded(state: BoardLoad) -> BoardLoad:
    """``state`` with one load's statements, recorded after a first load (so nothing writes)."""
    _load(state, 0)
    return replace(state, statements=record(state.engine, lambda: _load(state, 0)))


def _load_floor(state: BoardLoad, _i: int) -> object:
    return replay(state.url, state.statements)


def _load_teardown(state: BoardLoad) -> None:
    state.engine.dispose()


def _pg_load_setup(ctx: Context) -> BoardLoad:
    """The board of the size's PostgreSQL world (built at load time, at ``BOARD_NOW``)."""
    db = ctx.db()
    if db.world is None:
        raise BenchError("This board scenario runs on a PostgreSQL benchmark world.")
    actor = SignedInUser(id=0, username="bench", display_name="Bench", role=Role.CLINICIAN,
                         initials="B")  # fmt: skip
    clock, policy = FixedClock(BOARD_NOW), OverduePolicy()
    with db.uow() as uow:
        total = load_board(uow, clock, actor, policy, audit=False).total
    if total < db.world.open_tests // 2:
        raise BenchError(f"The board lists {total} tests; the world has {db.world.open_tests}.")
    return _recorded(
        BoardLoad(db.engine, db.uow, db.info.url, clock, actor, policy, expected=total)
    )


def _pg_load_teardown(_state: BoardLoad) -> None:
    """The engine is the harness's (closed with the database)."""


def _pg_worker_setup(ctx: Context) -> Worker:
    return start_worker(ctx.db().info.url)


@dataclass
class Worker:
    """The Qt worker process and its pipes."""

    process: subprocess.Popen[str]
    stdin: IO[str]
    stdout: IO[str]

    def ask(self, command: str) -> str:
        """Send one command; return its answer (raises if the worker died)."""
        self.stdin.write(command + "\n")
        self.stdin.flush()
        answer = self.stdout.readline()
        if not answer.startswith("ok"):
            raise BenchError(f"The board worker stopped answering ({command!r}).")
        return answer


def _worker_setup(_ctx: Context) -> Worker:
    return start_worker(board_database(open_tests=OPEN_TESTS).url)


def start_worker(url: str) -> Worker:
    """Start the Qt board worker on the database at ``url`` and wait until it is ready."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as errors:  # why it failed
        process = subprocess.Popen(
            [*WORKER, url, BOARD_NOW.isoformat()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        ready = process.stdout.readline()
        if not ready.startswith("ready"):
            process.kill()
            process.wait()
            errors.seek(0)
            last = [line.strip() for line in errors.read().splitlines() if line.strip()][-1:]
            raise BenchError(
                "The board worker (python -m bench.ui.board_worker) did not start"
                + (f": {last[0]}" if last else ".")
            )
    return Worker(process, process.stdin, process.stdout)


def _worker_teardown(worker: Worker) -> None:
    try:
        worker.stdin.write("quit\n")
        worker.stdin.flush()
        worker.process.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        worker.process.kill()


def _refilter(worker: Worker, i: int) -> object:
    return worker.ask(f"filter {i}")


def _refilter_floor(worker: Worker, i: int) -> object:
    return worker.ask(f"floor {i}")


def _reset(worker: Worker, _i: int) -> object:
    return worker.ask("reset")


def _reset_floor(worker: Worker, _i: int) -> object:
    return worker.ask(f"floor {FILTERS - 1}")  # one bare pass over every row


SCENARIOS: list[Scenario[Any]] = [
    Scenario(
        name="board-load",
        title="Results board: load 100k open tests (query + flags)",
        setup=_load_setup,
        run_once=_load,
        floor=_load_floor,
        target_p95_ms=LOAD_TARGET_MS,
        per_size=False,
        iterations=BOARD_ITERATIONS,
        teardown=_load_teardown,
    ),
    Scenario(
        name="board-refilter",
        title="Results board: re-filter 100k rows (Qt proxy, subprocess)",
        setup=_worker_setup,
        run_once=_refilter,
        floor=_refilter_floor,
        target_p95_ms=REFILTER_TARGET_MS,
        per_size=False,
        iterations=BOARD_ITERATIONS,
        in_process=False,
        teardown=_worker_teardown,
    ),
    Scenario(
        name="board-model-reset",
        title="Results board: hand 100k rows to model + proxy (subprocess)",
        setup=_worker_setup,
        run_once=_reset,
        floor=_reset_floor,
        per_size=False,
        iterations=BOARD_ITERATIONS,
        in_process=False,
        teardown=_worker_teardown,
    ),
]
"""Registered in :data:`bench.scenarios.SCENARIOS`."""

PG_SCENARIOS: list[Scenario[Any]] = [
    Scenario(
        name="board-load",
        title="Results board: load the open tests (query + flags)",
        setup=_pg_load_setup,
        run_once=_load,
        floor=_load_floor,
        target_p95_ms=LOAD_TARGET_MS,
        iterations=BOARD_ITERATIONS,
        teardown=_pg_load_teardown,
    ),
    Scenario(
        name="board-refilter",
        title="Results board: re-filter the open tests (Qt proxy, subprocess)",
        setup=_pg_worker_setup,
        run_once=_refilter,
        floor=_refilter_floor,
        target_p95_ms=REFILTER_TARGET_MS,
        iterations=BOARD_ITERATIONS,
        in_process=False,
        teardown=_worker_teardown,
    ),
]
"""The board scenarios on a PostgreSQL world, per size (a tenth of its specimens are open
tests: 100,000 at a million); the floors are the same two statements over psycopg."""
