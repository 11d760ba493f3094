"""``custody-verify``: recompute both chains over a million custody events.

The events live in their own synthetic SQLite database (the specimen benchmark databases
carry no custody history), built on first use and cached next to them by event count,
schema revision and generator version: 200,000 specimens walked through collected,
labelled, verified, picked up and received, interleaved as a clinic's day interleaves
them, with correct hashes on both chains and the writer's counter set.

Run: :func:`labdesk.custody.verify.verify_chains` through a unit of work (the repository's
event stream with canonical content, the shared walk of ``labdesk.domain.chain_verify``),
which must report the chains intact. Floor: the same rows read with a bare ``sqlite3`` cursor and
hashed twice each (SHA-256 over the previous hash and the row's fields), with no canonical
form, no link following and no findings.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.data.datagen import default_cache_dir
from bench.harness.errors import BenchError
from bench.harness.model import Context, Scenario
from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.repositories.custody import canonical_row
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.config import sqlite_url
from labdesk.custody.verify import CHAIN_COUNTER, verify_chains
from labdesk.domain.hashchain import GENESIS

VERIFY_EVENTS = 1_000_000
VERIFY_TARGET_MS = 30_000.0
GENERATOR_VERSION = 1
_KINDS = ("collected", "labelled", "verified", "picked_up", "received")
_BLOCK = 1_000
_STAMP = "%Y-%m-%d %H:%M:%S.%f"
_COLUMNS = (
    "id, specimen_id, seq, kind, actor_id, occurred_at, recorded_at, location, "
    "temperature_class, seal_intact, container_ref, reason, note, prev_hash, hash, "
    "chain_prev_hash, chain_hash"
)


def _rows(events: int) -> Iterator[tuple[object, ...]]:
    """Events in id order with both hash links, ``len(_KINDS)`` per specimen."""
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    chain = GENESIS
    event_id = 0
    specimens = -(-events // len(_KINDS))
    for first in range(1, specimens + 1, _BLOCK):
        block = range(first, min(first + _BLOCK, specimens + 1))
        last: dict[int, str] = dict.fromkeys(block, GENESIS)
        for seq, kind in enumerate(_KINDS, start=1):
            for specimen_id in block:
                event_id += 1
                if event_id > events:
                    return
                at = (start + timedelta(seconds=event_id)).strftime(_STAMP)
                row: list[object] = [
                    event_id,
                    specimen_id,
                    seq,
                    kind,
                    1 + seq % 3,
                    at,
                    at,
                    "CLINIC / STATION-1",
                    "refrigerated",
                    1,
                    "",
                    "",
                    "",
                ]
                text = canonical_row(row, sqlite=True).encode()
                own = hashlib.sha256(last[specimen_id].encode() + text).hexdigest()
                linked = hashlib.sha256(chain.encode() + text).hexdigest()
                yield (*row, last[specimen_id], own, chain, linked)
                last[specimen_id], chain = own, linked


def build_events_database(path: Path, events: int) -> None:
    """Create a migrated SQLite file at ``path`` holding ``events`` chained custody events."""
    engine = make_engine(sqlite_url(path))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF"):
            raw.execute(f"PRAGMA {pragma}")
        raw.execute("BEGIN")
        marks = ", ".join("?" * 17)
        rows = _rows(events)
        while chunk := [row for _, row in zip(range(50_000), rows, strict=False)]:
            raw.executemany(f"INSERT INTO custody_events ({_COLUMNS}) VALUES ({marks})", chunk)
        raw.execute("INSERT INTO counters (name, value) VALUES (?, ?)", (CHAIN_COUNTER, events))
        raw.execute("COMMIT")
        raw.execute("PRAGMA journal_mode=WAL")
    finally:
        raw.close()


def cached_events_database(events: int, directory: Path | None = None) -> Path:
    """The cached database of ``events`` events, built (atomically) on first use."""
    folder = directory or default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"custody-e{events}-rev{migrate.head_revision()}-v{GENERATOR_VERSION}.sqlite3")
    if path.exists():
        return path
    partial = folder / f".{path.name}.{os.getpid()}.partial"
    try:
        build_events_database(partial, events)
        partial.replace(path)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
    return path


@dataclass(frozen=True)
class VerifyState:
    """The events database, opened both ways."""

    uow: UnitOfWorkFactory
    raw: sqlite3.Connection
    events: int


def verify_scenario(
    events: int = VERIFY_EVENTS, directory: Path | None = None
) -> Scenario[VerifyState]:
    """The scenario over ``events`` events (tests use a small count and a private folder)."""

    def setup(ctx: Context) -> VerifyState:
        path = cached_events_database(events, directory)
        engine = make_engine(sqlite_url(path))
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        return VerifyState(UnitOfWorkFactory(engine), raw, events)

    def run_once(state: VerifyState, _i: int) -> object:
        with state.uow() as uow:
            report = verify_chains(uow)
        if not report.ok or report.events != state.events:
            raise BenchError(
                f"custody verify found {len(report.findings)} problem(s) in {report.events} "
                "synthetic events; the benchmark database is damaged (delete it to rebuild)."
            )
        return report

    def floor(state: VerifyState, _i: int) -> object:
        count = 0
        for row in state.raw.execute(f"SELECT {_COLUMNS} FROM custody_events ORDER BY id"):
            text = "|".join(str(value) for value in row[1:13]).encode()
            hashlib.sha256(row[13].encode() + text).hexdigest()
            hashlib.sha256(row[15].encode() + text).hexdigest()
            count += 1
        return count

    def teardown(state: VerifyState) -> None:
        state.raw.close()
        state.uow.engine.dispose()

    return Scenario(
        name="custody-verify",
        title=f"custody verify over {events:,} events (both chains)",
        setup=setup,
        run_once=run_once,
        floor=floor,
        target_p95_ms=VERIFY_TARGET_MS,
        per_size=False,
        teardown=teardown,
    )
