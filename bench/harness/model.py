"""What a scenario declares, what it is given to run, and what a measurement reports.

Adding a scenario is declaring one :class:`Scenario` in :data:`bench.scenarios.SCENARIOS`:
a ``setup`` that prepares state (keys drawn from the database, a subprocess environment), a
``run_once`` doing the real service path once, and a ``floor`` doing the same work as bare
SQL (or a bare process), both called with the iteration number.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine

from bench.data.datagen import BenchDb
from bench.data.pg_copy import PgWorld
from bench.harness.errors import BenchError
from labdesk.adapters.unit_of_work import UnitOfWorkFactory

S = TypeVar("S")


@dataclass(frozen=True)
class Database:
    """An open benchmark database: the app's storage stack and a bare driver connection."""

    info: BenchDb
    engine: Engine
    uow: UnitOfWorkFactory
    raw: Any
    """Autocommit ``sqlite3.Connection`` with the app's pragmas, for floors (on PostgreSQL a
    bare psycopg connection taking the same SQL, :class:`bench.harness.pg.PgRaw`): typed
    ``Any`` because the scenarios call ``execute(...).fetchone()`` on either."""
    world: PgWorld | None = None
    """What the PostgreSQL loader built (None on SQLite)."""

    @property
    def postgres(self) -> bool:
        """True on a PostgreSQL benchmark database."""
        return self.world is not None


@dataclass
class Context:
    """What a scenario's ``setup`` is given."""

    workdir: Path
    """A private temporary directory, removed after the run."""
    rng: random.Random
    calls: int
    """How many times ``run_once`` (and ``floor``) will be called, warm-up included."""
    database: Database | None = None

    def db(self) -> Database:
        """The database this size runs against.

        Raises:
            BenchError: for a scenario that runs once per size but was given none.
        """
        if self.database is None:
            raise BenchError("This scenario needs a benchmark database.")
        return self.database


@dataclass(frozen=True)
class Scenario(Generic[S]):
    """One benchmark scenario, declared once and run by :func:`bench.harness.runner.execute`."""

    name: str
    title: str
    setup: Callable[[Context], S]
    run_once: Callable[[S, int], object]
    """The real service path, once; raise to report the scenario as an error."""
    floor: Callable[[S, int], object]
    """The same work done the cheapest way (bare indexed SQL, a bare process)."""
    target_p95_ms: float | None = None
    max_growth: float | None = None
    """Largest allowed p95 ratio between the biggest and the smallest database."""
    per_size: bool = True
    """True: measured at every database size; False: measured once (e.g. cold start)."""
    in_process: bool = True
    """False when the work happens in a subprocess, so this thread's CPU time means nothing."""
    iterations: int | None = None
    """Timed calls, capped by the plan's iterations. Measured once (``per_size=False``): None
    means the plan's ``process_runs`` (scenarios that start processes); per size: None means
    the plan's iterations (set it for a scenario whose one call is long)."""
    teardown: Callable[[S], None] | None = None


@dataclass(frozen=True)
class Build:
    """How a database size was obtained."""

    specimens: int
    patients: int
    seconds: float
    cached: bool
    error: str = ""


@dataclass(frozen=True)
class Measurement:
    """Latency of one scenario at one size, against its floor."""

    scenario: str
    title: str
    size: int | None
    iterations: int
    p50_ms: float
    p95_ms: float
    floor_p50_ms: float
    floor_p95_ms: float
    target_p95_ms: float | None
    cpu_p95_ms: float | None = None
    """p95 of the CPU time this thread spent (None when the work runs in another process)."""
    error: str = ""

    @property
    def ratio(self) -> float:
        """p95 over the floor's p95."""
        return self.p95_ms / self.floor_p95_ms if self.floor_p95_ms > 0 else float("inf")

    @property
    def waited(self) -> bool:
        """True when the p95 call spent most of its wall time off the CPU (a busy machine)."""
        if self.cpu_p95_ms is None or self.error:
            return False
        return self.p95_ms > 2 * self.cpu_p95_ms and self.p95_ms - self.cpu_p95_ms > 0.5

    @property
    def status(self) -> str:
        """``PASS``, ``MISS``, ``ERROR``, or ``""`` when there is no target."""
        if self.error:
            return "ERROR"
        if self.target_p95_ms is None:
            return ""
        return "PASS" if self.p95_ms <= self.target_p95_ms else "MISS"


@dataclass(frozen=True)
class Growth:
    """How one scenario's p95 grows from the smallest to the biggest database."""

    scenario: str
    title: str
    size: int
    baseline_size: int
    p95_ms: float
    baseline_p95_ms: float
    max_growth: float | None

    @property
    def growth(self) -> float:
        """p95 at ``size`` over p95 at ``baseline_size``."""
        return self.p95_ms / self.baseline_p95_ms if self.baseline_p95_ms > 0 else float("inf")

    @property
    def status(self) -> str:
        """``PASS``, ``MISS``, or ``""`` when there is no target."""
        if self.max_growth is None:
            return ""
        return "PASS" if self.growth <= self.max_growth else "MISS"


@dataclass(frozen=True)
class Machine:
    """Where the bench ran, and how busy the machine was."""

    cpus: int
    python: str
    sqlite: str
    load_start: float | None
    load_end: float | None = None
    postgres: str = ""
    """The PostgreSQL server's version when the run measured PostgreSQL, else empty."""


@dataclass
class Results:
    """Everything one bench run found."""

    sizes: tuple[int, ...]
    machine: Machine
    builds: list[Build] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    growth: list[Growth] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """Scenarios not run on this database, with the reason."""

    @property
    def errors(self) -> list[str]:
        """One line per build or scenario that could not run."""
        found = [f"build {b.specimens:,}: {b.error}" for b in self.builds if b.error]
        found += [f"{m.scenario}: {m.error}" for m in self.measurements if m.error]
        return found
