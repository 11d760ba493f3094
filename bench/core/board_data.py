"""The clinician board's benchmark database: 100,000 open tests on top of a base database.

The base (patients, specimens, mostly closed orders) comes from
:func:`bench.data.datagen.build_database`; this module adds orders whose tests stand in
every open status, with results (some abnormal, a few critical, some corrected) and a few
acknowledgements, all in the two weeks before :data:`BOARD_NOW`. Cached like the base
databases, by size, seed, schema revision and generator version.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench.data.datagen import BenchDb, build_database, default_cache_dir
from bench.data.rows import ACCESSION_YEAR, USER_ID
from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.config import sqlite_url
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import OverduePolicy
from labdesk.results.board_refresh import refresh_board

BOARD_DATA_VERSION = 4
OPEN_TESTS = 100_000
BOARD_NOW = datetime(ACCESSION_YEAR, 11, 17, 15, 0, tzinfo=UTC)
"""The bench clock: just after the newest generated activity."""
TESTS_PER_ORDER = 3
PROVIDERS = ("Dr. Ada Moreau", "Dr. Ben Okafor", "Dr. Chen Li", "Dr. Dana Ruiz", "Dr. Eli Stone")

_STATUS_MIX = (
    (TestStatus.ORDERED, 15),
    (TestStatus.COLLECTED, 5),
    (TestStatus.IN_TRANSIT, 5),
    (TestStatus.RECEIVED, 20),
    (TestStatus.PRELIMINARY, 5),
    (TestStatus.FINAL, 42),
    (TestStatus.REJECTED, 3),
    (TestStatus.NOT_PERFORMED, 5),
)
_NOW_S = int(BOARD_NOW.timestamp())
_SPAN_S = 14 * 24 * 3600


def board_database(
    *, open_tests: int = OPEN_TESTS, seed: int = 1, directory: Path | None = None
) -> BenchDb:
    """Return the cached board database, building it on first use (about a minute)."""
    folder = directory or default_cache_dir()
    stem = f"board-t{open_tests}-seed{seed}-rev{migrate.head_revision()}-v{BOARD_DATA_VERSION}"
    path, meta = folder / f"{stem}.sqlite3", folder / f"{stem}.json"
    if path.exists() and meta.exists():
        info = json.loads(meta.read_text(encoding="utf-8"))
        return BenchDb(**{**info, "url": sqlite_url(path), "cached": True})
    folder.mkdir(parents=True, exist_ok=True)
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


def _ts(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.000000")


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
            "active, failed_attempts, created_at) VALUES (?, 'benchdoc', ?, 'BD', 'clinician', "
            "'!', 1, 0, ?)",
            (USER_ID + 1, PROVIDERS[0], _ts(_NOW_S - _SPAN_S)),
        )
        statuses = [s for s, weight in _STATUS_MIX for _ in range(weight)]
        orders: list[tuple[object, ...]] = []
        tests: list[tuple[object, ...]] = []
        results: list[tuple[object, ...]] = []
        acks: list[tuple[object, ...]] = []
        result_id = 0
        while len(tests) < count:
            order_id += 1
            ordered = _NOW_S - rng.randrange(_SPAN_S)
            provider = rng.randrange(len(PROVIDERS))
            orders.append((order_id, f"BO{order_id:08d}", "", rng.randrange(patients) + 1,
                           PROVIDERS[provider], USER_ID + 1 if provider == 0 else None,
                           "stat" if rng.random() < 0.05 else "routine", "hl7", "active", "",
                           _ts(ordered), _ts(ordered)))  # fmt: skip
            specimen = rng.randrange(specimens) + 1
            for _ in range(min(TESTS_PER_ORDER, count - len(tests))):
                test_id += 1
                status = rng.choice(statuses)
                changed = min(_NOW_S, ordered + rng.randrange(60, 3 * 24 * 3600))
                has_specimen = status is not TestStatus.ORDERED
                tests.append((test_id, order_id, rng.choice(codes), status.value,
                              specimen if has_specimen else None, _ts(changed)))  # fmt: skip
                if status in {TestStatus.PRELIMINARY, TestStatus.FINAL, TestStatus.NOT_PERFORMED}:
                    result_id = _results(rng, results, result_id, test_id, specimen, changed)
                    if rng.random() < 0.05:
                        acks.append((test_id, USER_ID + 1, "reviewed", "", _ts(changed + 600)))
        _many(conn, "orders", 12, orders)
        _many(conn, "ordered_tests", 6, tests)
        _many(conn, "results", 14, results)
        conn.executemany(
            "INSERT INTO acknowledgements (ordered_test_id, user_id, meaning, note, "
            "acknowledged_at) VALUES (?, ?, ?, ?, ?)",
            acks,
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _results(
    rng: random.Random, out: list[tuple[object, ...]], rid: int, test: int, spec: int, at: int
) -> int:
    """One to three observations; about 15 % abnormal, 2 % critical, 3 % corrected."""
    for component in range(rng.choice((1, 2, 3))):
        rid += 1
        roll = rng.random()
        flag = "HH" if roll < 0.02 else ("H" if roll < 0.15 else "N")
        out.append((rid, test, spec, f"OBS{component}", f"Component {component}",
                    f"{rng.uniform(1, 9):.1f}", "mmol/L", "1.0-5.0", flag, "F", _ts(at),
                    _ts(at), None, ""))  # fmt: skip
        if rng.random() < 0.03:  # a correction superseding the row just added
            rid += 1
            out.append((rid, test, spec, f"OBS{component}", f"Component {component}",
                        f"{rng.uniform(1, 9):.1f}", "mmol/L", "1.0-5.0", "N", "C",
                        _ts(at + 900), _ts(at + 900), rid - 1, ""))  # fmt: skip
    return rid


_COLUMNS = {
    "orders": "id, placer_order_number, requisition, patient_id, ordering_provider, "
    "ordering_provider_id, priority, source, status, cancel_reason, ordered_at, created_at",
    "ordered_tests": "id, order_id, test_code, status, specimen_id, status_changed_at",
    "results": "id, ordered_test_id, specimen_id, observation_code, observation_name, value, "
    "units, reference_range, abnormal_flag, status, observed_at, received_at, supersedes_id, "
    "message_id",
}


def _many(conn: sqlite3.Connection, table: str, width: int, rows: list[tuple[object, ...]]) -> None:
    marks = ", ".join("?" * width)
    conn.executemany(f"INSERT INTO {table} ({_COLUMNS[table]}) VALUES ({marks})", rows)
