"""The clinician board's benchmark database: 100,000 open tests on top of a base database.

The base (patients, specimens, mostly closed orders) comes from
:func:`bench.data.datagen.build_database`; this module adds orders whose tests stand in
every open status, with results (some abnormal, a few critical, some corrected) and a few
acknowledgements, all in the two weeks before :data:`BOARD_NOW`. Cached like the base
databases, by size, seed, schema (head revision and migration scripts) and generator
version.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path

from bench.data import open_tests
from bench.data.datagen import BenchDb, build_database, default_cache_dir, migrations_digest
from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.config import sqlite_url
from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import OverduePolicy
from labdesk.results.board_refresh import refresh_board

BOARD_DATA_VERSION = 4
OPEN_TESTS = 100_000
BOARD_NOW = open_tests.BOARD_NOW
"""The bench clock: just after the newest generated activity."""
TESTS_PER_ORDER = open_tests.TESTS_PER_ORDER
PROVIDERS = open_tests.PROVIDERS
_STATUS_MIX = open_tests.STATUS_MIX


def board_database(
    *, open_tests: int = OPEN_TESTS, seed: int = 1, directory: Path | None = None
) -> BenchDb:
    """Return the cached board database, building it on first use (about a minute)."""
    folder = directory or default_cache_dir()
    family = f"board-t{open_tests}-seed{seed}"
    schema = f"rev{migrate.head_revision()}-m{migrations_digest()[:8]}"
    stem = f"{family}-{schema}-v{BOARD_DATA_VERSION}"
    path, meta = folder / f"{stem}.sqlite3", folder / f"{stem}.json"
    if path.exists() and meta.exists():
        info = json.loads(meta.read_text(encoding="utf-8"))
        return BenchDb(**{**info, "url": sqlite_url(path), "cached": True})
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{family}-*"):  # another schema or generator: never used again
        stale.unlink(missing_ok=True)
    partial = folder / f".{stem}.{os.getpid()}.partial"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    base = build_database(sqlite_url(partial), specimens=open_tests, seed=seed)
    add_open_tests(partial, open_tests, base.patients, seed)
    build_board(sqlite_url(partial))
    built = BenchDb(
        url=sqlite_url(path),
        specimens=base.specimens,
        patients=base.patients,
        seed=seed,
        build_seconds=time.perf_counter() - started,
    )
    partial.replace(path)
    meta.write_text(json.dumps({k: v for k, v in asdict(built).items() if k != "url"}))
    return built


def build_board(url: str) -> None:
    """Fill the board table as the first board load would (default policy, bench clock)."""
    engine = make_engine(url)
    try:
        with UnitOfWorkFactory(engine)() as uow:
            refresh_board(uow, FixedClock(BOARD_NOW), OverduePolicy())
    finally:
        engine.dispose()


def add_open_tests(path: Path, count: int, patients: int, seed: int) -> None:
    """Add ``count`` open ordered tests (with orders, results, acknowledgements) to ``path``."""
    rng = random.Random(seed * 7 + 1)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        order_id = int(conn.execute("SELECT coalesce(max(id), 0) FROM orders").fetchone()[0])
        test_id = int(conn.execute("SELECT coalesce(max(id), 0) FROM ordered_tests").fetchone()[0])
        specimens = int(conn.execute("SELECT max(id) FROM specimens").fetchone()[0])
        codes = [r[0] for r in conn.execute("SELECT code FROM test_definitions WHERE active")]
        conn.execute(
            "INSERT INTO users (id, username, display_name, initials, role, password_hash, "
            "active, failed_attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            open_tests.doctor_row(),
        )
        rows = open_tests.open_test_rows(
            rng, count, first_order=order_id, first_test=test_id, first_result=0,
            specimens=specimens, patients=patients, codes=codes,
        )  # fmt: skip
        _many(conn, "orders", open_tests.ORDER_COLUMNS, rows.orders)
        _many(conn, "ordered_tests", open_tests.TEST_COLUMNS, rows.tests)
        _many(conn, "results", open_tests.RESULT_COLUMNS, rows.results)
        _many(conn, "acknowledgements", open_tests.ACK_COLUMNS, rows.acks)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _many(conn: sqlite3.Connection, table: str, columns: str, rows: list[open_tests.Row]) -> None:
    marks = ", ".join("?" * len(columns.split(",")))
    conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
