"""The board's bench scenarios on a small database: they run and report (no timing asserts)."""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from bench.core import board, board_data
from bench.harness.runner import Plan, execute
from bench.scenarios import all_scenarios, by_name
from labdesk.domain import order

Status = order.TestStatus  # not imported by name: pytest would try to collect Test*
OPEN = 600
NAMES = ["board-load", "board-refilter", "board-model-reset"]


@pytest.fixture
def small_board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scenarios pointed at a 600-open-test database in ``tmp_path``."""
    monkeypatch.setattr(board, "OPEN_TESTS", OPEN)
    monkeypatch.setattr(board_data, "default_cache_dir", lambda: tmp_path)
    return tmp_path


def test_board_database_holds_tests_in_every_open_status(small_board: Path) -> None:
    info = board_data.board_database(open_tests=OPEN, directory=small_board)
    again = board_data.board_database(open_tests=OPEN, directory=small_board)
    assert again.cached
    assert again.url == info.url
    path = info.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        statuses = Counter(Status(s) for (s,) in conn.execute("SELECT status FROM ordered_tests"))
        results = conn.execute("SELECT count(*) FROM results").fetchone()[0]
        corrected = conn.execute(
            "SELECT count(*) FROM results WHERE supersedes_id IS NOT NULL"
        ).fetchone()[0]
    assert sum(n for s, n in statuses.items() if s.is_open) >= OPEN
    for status in board_data._STATUS_MIX:
        assert statuses[status[0]] > 0, status
    assert results > 0
    assert corrected > 0


def test_board_scenarios_are_registered() -> None:
    from bench.ui.board_worker import FILTERS
    from labdesk.results.board_query import BoardQuery

    assert len(FILTERS) == board.FILTERS
    assert FILTERS[-1] == BoardQuery()  # the reset floor's bare pass
    assert [s.name for s in by_name(NAMES)] == NAMES
    assert {s.name for s in board.SCENARIOS} <= {s.name for s in all_scenarios()}


def test_board_scenarios_run_and_report(small_board: Path) -> None:
    plan = Plan(sizes=(), iterations=3, warmup=1, process_runs=3, cache_dir=small_board)
    results = execute(plan, by_name(NAMES))
    assert results.errors == []
    assert [m.scenario for m in results.measurements] == NAMES
    for measurement in results.measurements:
        assert math.isfinite(measurement.p95_ms)
        assert math.isfinite(measurement.floor_p95_ms)
