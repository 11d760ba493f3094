"""Run a plan: build (or reuse) each database size, then measure every scenario."""

from __future__ import annotations

import os
import platform
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench.data.datagen import BenchDb, cached_database, default_cache_dir
from bench.harness import pg
from bench.harness.errors import BenchError
from bench.harness.measure import percentile, time_alternating
from bench.harness.model import (
    Build,
    Context,
    Database,
    Growth,
    Machine,
    Measurement,
    Results,
    Scenario,
)
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.config import sqlite_url

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of one bench run."""

    sizes: tuple[int, ...]
    """Specimen counts, smallest first (patients are a fifth of that)."""
    iterations: int
    warmup: int
    process_runs: int
    """Timed runs of scenarios that start a process (cold start)."""
    cache_dir: Path | None = None
    seed: int = 1
    database_url: str | None = None
    """A PostgreSQL database naming the server to measure (see :mod:`bench.harness.pg`);
    None measures SQLite files."""

    @classmethod
    def full(cls) -> Plan:
        """The issue's plan: 10k and 1M specimens, 500 timed calls, 5 cold starts."""
        return cls(sizes=(10_000, 1_000_000), iterations=500, warmup=30, process_runs=5)

    @classmethod
    def quick(cls) -> Plan:
        """A plan for a quick look: 10k and 100k specimens (seconds once they are cached)."""
        return cls(sizes=(10_000, 100_000), iterations=200, warmup=10, process_runs=3)

    @classmethod
    def postgres(cls, database_url: str, *, quick: bool) -> Plan:
        """The PostgreSQL plan: 10k and 1M specimens (``quick``: 1k and 20k)."""
        if quick:
            return cls(sizes=(1_000, 20_000), iterations=100, warmup=10, process_runs=3,
                       database_url=database_url)  # fmt: skip
        return cls(sizes=(10_000, 1_000_000), iterations=500, warmup=30, process_runs=5,
                   database_url=database_url)  # fmt: skip


def execute(
    plan: Plan,
    scenarios: Sequence[Scenario[Any]],
    progress: Progress | None = None,
) -> Results:
    """Run ``scenarios`` under ``plan``; failures are recorded in the results, not raised."""
    say = progress or (lambda _message: None)
    results = Results(sizes=plan.sizes, machine=_machine(plan))
    with tempfile.TemporaryDirectory(prefix="labdesk-bench-") as tmp:
        workdir = Path(tmp)
        sized = [s for s in scenarios if s.per_size]
        for size in plan.sizes if sized else ():
            database = _open_size(plan, size, workdir, results, say)
            try:
                for scenario in sized:
                    if database is None:
                        results.measurements.append(_failed(scenario, size, "no database"))
                        continue
                    runs = min(scenario.iterations or plan.iterations, plan.iterations)
                    ctx = _context(plan, workdir, runs + plan.warmup, database)
                    say(f"Measuring {scenario.name} at {size:,} specimens")
                    results.measurements.append(_measure(scenario, ctx, size, runs, plan.warmup))
            finally:
                if database is not None:
                    _close(database, plan)
        for scenario in (s for s in scenarios if not s.per_size):
            runs, warmup = _runs(plan, scenario)
            say(f"Measuring {scenario.name} ({runs} runs)")
            ctx = _context(plan, workdir, runs + warmup, None)
            results.measurements.append(_measure(scenario, ctx, None, runs, warmup))
    results.growth = _growth(results.measurements, sized, plan.sizes)
    results.machine = replace(results.machine, load_end=_load())
    return results


def _runs(plan: Plan, scenario: Scenario[Any]) -> tuple[int, int]:
    """Timed runs and warm-up calls of a scenario measured once."""
    if scenario.iterations is None:
        return plan.process_runs, 1
    return min(scenario.iterations, plan.iterations), plan.warmup


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not on Windows
        return None


def _machine(plan: Plan) -> Machine:
    server = ""
    if plan.database_url is not None:
        try:
            server = pg.Server.parse(plan.database_url).version()
        except Exception:  # the build reports why the server cannot be reached
            server = "unreachable"
    return Machine(
        cpus=os.cpu_count() or 0,
        python=platform.python_version(),
        sqlite=sqlite3.sqlite_version,
        load_start=_load(),
        postgres=server,
    )


def _context(plan: Plan, workdir: Path, calls: int, database: Database | None) -> Context:
    return Context(workdir=workdir, rng=random.Random(plan.seed), calls=calls, database=database)


def _open_size(
    plan: Plan, size: int, workdir: Path, results: Results, say: Progress
) -> Database | None:
    if plan.database_url is not None:
        return _open_pg_size(plan, plan.database_url, size, results, say)
    folder = plan.cache_dir or default_cache_dir()
    say(f"Database of {size:,} specimens (built on first use, cached in {folder})")
    try:
        info = cached_database(specimens=size, seed=plan.seed, directory=folder, progress=say)
        database = open_database(_private_copy(info, workdir))
    except Exception as exc:  # reported, not raised: the other sizes still run
        results.builds.append(Build(size, 0, 0.0, cached=False, error=_describe(exc)))
        return None
    results.builds.append(Build(size, info.patients, info.build_seconds, info.cached))
    verb = "Reused" if info.cached else "Built"
    say(f"{verb} {size:,} specimens / {info.patients:,} patients ({info.build_seconds:.1f} s)")
    return database


def _open_pg_size(
    plan: Plan, url: str, size: int, results: Results, say: Progress
) -> Database | None:
    started = time.perf_counter()
    try:
        server = pg.Server.parse(url)
        say(f"PostgreSQL world of {size:,} specimens on {server.shown}")
        world, cached = pg.cached_world(server, size, plan.seed, say)
        copy = pg.private_copy(server, world, size)
    except Exception as exc:  # reported, not raised: the other sizes still run
        results.builds.append(Build(size, 0, 0.0, cached=False, error=_describe(exc)))
        return None
    seconds = world.build_seconds if cached else time.perf_counter() - started
    results.builds.append(Build(size, world.patients, seconds, cached))
    verb = "Reused" if cached else "Built"
    say(f"{verb} {size:,} specimens / {world.patients:,} patients ({seconds:.1f} s)")
    engine, uow, raw = pg.open_engine(copy)
    info = pg.bench_db(world, copy, cached)
    return Database(info=info, engine=engine, uow=uow, raw=raw, world=replace(world, url=copy))


def _private_copy(info: BenchDb, workdir: Path) -> BenchDb:
    """Copy a cached database into this run's directory: scenarios write (counters, audit
    entries, messages), and the cache must stay pristine and free for concurrent runs."""
    source = Path(make_url(info.url).database or "")
    target = workdir / source.name
    shutil.copyfile(source, target)
    return replace(info, url=sqlite_url(target))


def open_database(info: BenchDb) -> Database:
    """Open the app's storage stack and a bare ``sqlite3`` connection on a bench database.

    Raises:
        BenchError: if ``info`` is not a SQLite file database.
    """
    engine = make_engine(info.url)
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        engine.dispose()
        raise BenchError("Scenario floors need a SQLite file database.")
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in (
        "foreign_keys=ON",
        "busy_timeout=5000",
        "journal_mode=WAL",
        "synchronous=NORMAL",
    ):
        raw.execute(f"PRAGMA {pragma}")
    return Database(info=info, engine=engine, uow=UnitOfWorkFactory(engine), raw=raw)


def _close(database: Database, plan: Plan) -> None:
    database.raw.close()
    database.engine.dispose()
    if database.world is not None and plan.database_url is not None:
        from bench.core.board_floor import forget  # floors' cached connections to the copy

        forget()
        pg.drop(pg.Server.parse(plan.database_url), database.info.url)
        return
    path = Path(make_url(database.info.url).database or "")
    for suffix in ("", "-wal", "-shm"):  # the private copy: free the disk space now
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _measure(
    scenario: Scenario[Any], ctx: Context, size: int | None, iterations: int, warmup: int
) -> Measurement:
    try:
        state = scenario.setup(ctx)
        try:
            timings = time_alternating(
                lambda i: scenario.run_once(state, i),
                lambda i: scenario.floor(state, i),
                iterations=iterations,
                warmup=warmup,
            )
        finally:
            if scenario.teardown is not None:
                scenario.teardown(state)
    except Exception as exc:  # a broken scenario is reported; the others still run
        return _failed(scenario, size, _describe(exc))
    return Measurement(
        scenario=scenario.name,
        title=scenario.title,
        size=size,
        iterations=iterations,
        p50_ms=percentile(timings.run_ms, 50),
        p95_ms=percentile(timings.run_ms, 95),
        floor_p50_ms=percentile(timings.floor_ms, 50),
        floor_p95_ms=percentile(timings.floor_ms, 95),
        target_p95_ms=scenario.target_p95_ms,
        cpu_p95_ms=percentile(timings.run_cpu_ms, 95) if scenario.in_process else None,
    )


def _failed(scenario: Scenario[Any], size: int | None, error: str) -> Measurement:
    nan = float("nan")
    return Measurement(
        scenario=scenario.name,
        title=scenario.title,
        size=size,
        iterations=0,
        p50_ms=nan,
        p95_ms=nan,
        floor_p50_ms=nan,
        floor_p95_ms=nan,
        target_p95_ms=scenario.target_p95_ms,
        error=error,
    )


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return text if isinstance(exc, BenchError) else f"{type(exc).__name__}: {text}"


def _growth(
    measurements: Sequence[Measurement],
    scenarios: Sequence[Scenario[Any]],
    sizes: tuple[int, ...],
) -> list[Growth]:
    if len(sizes) < 2:
        return []
    small, big = min(sizes), max(sizes)
    found = {(m.scenario, m.size): m for m in measurements if not m.error}
    growth = []
    for scenario in scenarios:
        base, top = found.get((scenario.name, small)), found.get((scenario.name, big))
        if base is None or top is None:
            continue
        growth.append(
            Growth(
                scenario=scenario.name,
                title=scenario.title,
                size=big,
                baseline_size=small,
                p95_ms=top.p95_ms,
                baseline_p95_ms=base.p95_ms,
                max_growth=scenario.max_growth,
            )
        )
    return growth
