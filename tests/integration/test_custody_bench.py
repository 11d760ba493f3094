"""The custody bench scenarios run on tiny databases and leave them as they were."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.core.custody_scan import SCENARIO as COURIER_SCAN
from bench.core.custody_verify import cached_events_database, verify_scenario
from bench.data.datagen import cached_database
from bench.harness.runner import Plan, execute


def _count(url: str, table: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_courier_scan_runs_and_cleans_up(tmp_path: Path) -> None:
    plan = Plan(sizes=(300,), iterations=4, warmup=1, process_runs=1, cache_dir=tmp_path)
    results = execute(plan, [COURIER_SCAN])

    assert results.errors == []
    (measurement,) = results.measurements
    assert measurement.iterations == 4
    assert measurement.p95_ms > 0
    info = cached_database(specimens=300, directory=tmp_path)
    assert _count(info.url, "custody_events") == 0
    assert _count(info.url, "manifest_items") == 0
    assert _count(info.url, "specimens") == 300


def test_custody_verify_runs_on_a_small_chain(tmp_path: Path) -> None:
    plan = Plan(sizes=(300,), iterations=1, warmup=0, process_runs=2, cache_dir=tmp_path)
    results = execute(plan, [verify_scenario(2_003, tmp_path)])

    assert results.errors == []
    path = cached_events_database(2_003, tmp_path)
    assert _count(f"sqlite:///{path}", "custody_events") == 2_003
