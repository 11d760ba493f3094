"""Accession IDs stay unique when many workstations issue them at once."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.accession import validate_accession
from labdesk.domain.clock import FixedClock
from labdesk.station.accession import issue_accession

THREADS = 8
PER_THREAD = 50
PROCESSES = 4
PER_PROCESS = 50
CLOCK_START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _serial(accession: str) -> int:
    return int(accession[2:9])


def _issue_many(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, count: int, *, read_first: bool = False
) -> list[str]:
    """Issue ``count`` IDs, each in its own unit of work and commit, like a workstation.

    ``read_first`` reads before writing in the same unit of work, as a service does when it
    looks the patient up first. On SQLite that is the case where a deferred ``BEGIN`` fails
    with "database is locked" at once (a read lock cannot be upgraded under WAL), so it
    guards how make_engine starts SQLite transactions.
    """
    issued = []
    for _ in range(count):
        with uow_factory() as uow:
            if read_first:
                uow.specimens.count()
            issued.append(issue_accession(uow, clock))
            uow.commit()
    return issued


def _assert_well_formed(ids: list[str], expected_count: int) -> None:
    assert len(ids) == expected_count
    assert len(set(ids)) == expected_count, "duplicate accession IDs issued"
    for accession in ids:
        assert validate_accession(accession) == accession
        assert accession.startswith("26")


@pytest.mark.parametrize("read_first", [False, True], ids=["write-only", "read-then-write"])
def test_threads_get_unique_valid_ids(engine: Engine, clock: FixedClock, read_first: bool) -> None:
    uow_factory = UnitOfWorkFactory(engine)
    start = threading.Barrier(THREADS)

    def worker() -> list[str]:
        start.wait(timeout=30)
        return _issue_many(uow_factory, clock, PER_THREAD, read_first=read_first)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(worker) for _ in range(THREADS)]
        per_thread = [f.result(timeout=120) for f in futures]

    ids = [accession for batch in per_thread for accession in batch]
    _assert_well_formed(ids, THREADS * PER_THREAD)
    # Nothing was lost either: the serials are exactly 1..N.
    assert sorted(_serial(a) for a in ids) == list(range(1, THREADS * PER_THREAD + 1))
    # Each thread sees its own serials increase.
    for batch in per_thread:
        serials = [_serial(a) for a in batch]
        assert serials == sorted(serials)


def test_rolled_back_accession_is_not_consumed(engine: Engine, clock: FixedClock) -> None:
    uow_factory = UnitOfWorkFactory(engine)
    with uow_factory() as uow:
        first = issue_accession(uow, clock)
        # no commit: the serial goes back
    with uow_factory() as uow:
        again = issue_accession(uow, clock)
        uow.commit()
    assert first == again
    assert _serial(again) == 1


def test_each_year_has_its_own_serials(engine: Engine, clock: FixedClock) -> None:
    uow_factory = UnitOfWorkFactory(engine)
    this_year = _issue_many(uow_factory, clock, 2)
    clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=UTC))
    next_year = _issue_many(uow_factory, clock, 1)
    assert [_serial(a) for a in this_year] == [1, 2]
    assert next_year[0].startswith("27")
    assert _serial(next_year[0]) == 1


def _process_worker(args: tuple[str, int]) -> list[str]:
    """Runs in a spawned process: its own engine, pool and connections."""
    url, count = args
    engine = make_engine(url)
    try:
        factory = UnitOfWorkFactory(engine)
        return _issue_many(factory, FixedClock(CLOCK_START), count, read_first=True)
    finally:
        engine.dispose()


def test_processes_get_unique_consecutive_ids_on_postgresql(pg_engine: Engine, pg_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        jobs = pool.map_async(_process_worker, [(pg_url, PER_PROCESS)] * PROCESSES)
        per_process = jobs.get(timeout=180)

    ids = [accession for batch in per_process for accession in batch]
    _assert_well_formed(ids, PROCESSES * PER_PROCESS)
    assert sorted(_serial(a) for a in ids) == list(range(1, PROCESSES * PER_PROCESS + 1))
