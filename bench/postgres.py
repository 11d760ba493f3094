"""``labdesk bench --database-url URL``: the scenarios that make sense on PostgreSQL, there.

The same scenarios as on SQLite (their service paths are the product's, unchanged), run
against PostgreSQL worlds built with COPY by :mod:`bench.data.pg_copy` (10k and 1M
specimens; ``quick``: 1k and 20k), each floor the same bare SQL over a psycopg connection
to the same server (:class:`bench.harness.pg.PgRaw`). Which scenarios are skipped, and
why, is :data:`SKIPPED`; the report lists them.

The issue's PostgreSQL targets (:data:`TARGETS`, at the biggest size) get their own lines
with the ratio to the floor and, given the JSON of a SQLite run (``--compare FILE``, from
``labdesk bench --json``), the ratio to the SQLite figure of the same scenario and size.

``--only network-load`` is helper D's network bench (:mod:`bench.network`, imported when
asked for).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bench.core import board, custody_scan, hl7_ingest, lookups, station
from bench.downtime import replay as downtime_replay
from bench.harness import pg
from bench.harness.errors import BenchError
from bench.harness.model import Measurement, Results, Scenario
from bench.harness.report import to_records, write_table
from bench.harness.runner import Plan, execute

Progress = Callable[[str], None]

NETWORK_LOAD = "network-load"

SKIPPED: dict[str, str] = {
    "custody-verify": "its million-event chain is a cached SQLite file; the PostgreSQL world "
    "carries only its in-flight specimens' events (verified by the loader's test)",
    "board-model-reset": "Qt model work only, nothing read from the database (same as SQLite)",
    "cold-start": "starts processes on a SQLite file; nothing PostgreSQL-specific to measure",
    "manifest-pdf-500": "PDF rendering, no database work",
    "zpl-label": "label rendering, no database work",
    "pdf-sheet-30": "label rendering, no database work",
    "print-order-6": "seeds its own one-order clinic in a private SQLite file (queue and "
    "claim of six jobs); not ported to the PostgreSQL worlds",
    "station-scan-screen": "the Qt station screen in a subprocess; its database path is "
    "station-scan-plan, measured here",
}
"""Registered scenarios not run on PostgreSQL, with the reason the report gives."""


def scenarios(database_url: str = "") -> list[Scenario[Any]]:
    """The PostgreSQL scenarios, in report order (with ``database_url``, also those that
    build a database of their own next to it: the downtime replay)."""
    own = (
        [downtime_replay.pg_replay_scenario(pg.Server.parse(database_url))] if database_url else []
    )
    return [
        *lookups.SCENARIOS,
        *hl7_ingest.SCENARIOS,
        custody_scan.SCENARIO,
        *station.SCENARIOS,
        *board.PG_SCENARIOS,
        *own,
    ]


@dataclass(frozen=True)
class Target:
    """One of the issue's PostgreSQL speed targets."""

    label: str
    scenario: str
    p95_ms: float


TARGETS = (
    Target("scan -> feedback", "courier-scan", 15.0),
    Target("patient scan -> draw plan on screen", "station-scan-plan", 50.0),
    Target("board load", "board-load", 150.0),
    Target("board re-filter", "board-refilter", 30.0),
)
"""PostgreSQL, biggest world, one station (issue 14)."""


def run(
    database_url: str,
    *,
    quick: bool,
    as_json: bool,
    out: TextIO,
    progress: Progress | None = None,
    only: Sequence[str] = (),
    compare: Path | None = None,
    network: Mapping[str, Any] | None = None,
) -> int:
    """Measure on PostgreSQL and write the report (see the module); returns the exit code.

    ``network`` holds the keyword arguments of :func:`bench.network.run_network_load`
    (stations, actions, specimens, fault) for ``only=("network-load",)``.

    Raises:
        BenchError: for an unknown or skipped scenario in ``only``, an unreadable
            ``compare`` file, or a missing :mod:`bench.network` for ``network-load``.
    """
    say = progress or (lambda _m: None)
    pg.Server.parse(database_url)  # a clear error for a URL that is not PostgreSQL
    if NETWORK_LOAD in only:
        if len(only) > 1:
            raise BenchError(f"--only {NETWORK_LOAD} runs on its own.")
        return _network_load(database_url, quick=quick, out=out, progress=say,
                             options=network or {})  # fmt: skip
    if network:
        raise BenchError(f"{', '.join(sorted(network))}: only with --only {NETWORK_LOAD}.")
    sqlite = _sqlite_figures(compare) if compare is not None else None
    chosen = _chosen(only, database_url)
    results = execute(Plan.postgres(database_url, quick=quick), chosen, say)
    names = {s.name for s in chosen}
    if not only:
        results.skipped.extend(SKIPPED.items())
    lines = target_lines(results, sqlite)
    if as_json:
        records = to_records(results)
        records += [{"kind": "skipped", "scenario": n, "reason": r} for n, r in results.skipped]
        records += [line.record() for line in lines if line.target.scenario in names]
        json.dump(records, out, indent=2, allow_nan=False)
        out.write("\n")
    else:
        write_table(results, out)
        if results.skipped:
            out.write("\nNot run on PostgreSQL\n")
            for name, reason in results.skipped:
                out.write(f"  {name}: {reason}\n")
        shown = [line for line in lines if line.target.scenario in names]
        if shown:
            out.write(f"\nPostgreSQL targets at {max(results.sizes):,} specimens\n")
            for line in shown:
                out.write(f"  {line.text()}\n")
    return 1 if results.errors else 0


def _chosen(only: Sequence[str], database_url: str) -> list[Scenario[Any]]:
    available = scenarios(database_url)
    if not only:
        return available
    known = {s.name for s in available}
    skipped = sorted(set(only) & set(SKIPPED))
    if skipped:
        raise BenchError(
            f"{', '.join(skipped)} does not run on PostgreSQL: {SKIPPED[skipped[0]]}.",
            hint="Run it without --database-url.",
        )
    unknown = sorted(set(only) - known)
    if unknown:
        raise BenchError(
            f"No PostgreSQL benchmark scenario called {', '.join(unknown)}.",
            hint=f"Scenarios: {', '.join(sorted(known | {NETWORK_LOAD}))}.",
        )
    return [s for s in available if s.name in only]


def _network_load(
    url: str, *, quick: bool, out: TextIO, progress: Progress, options: Mapping[str, Any]
) -> int:
    try:
        from bench.network import run_network_load
    except ImportError as exc:
        raise BenchError(
            f"The network-load bench is not available ({exc}).",
            hint="It lives in bench/network/ (run_network_load); install or update LabDesk.",
        ) from exc
    code: int = run_network_load(url, quick=quick, out=out, progress=progress, **options)
    return code


def _sqlite_figures(path: Path) -> dict[tuple[str, int | None], float]:
    """p95 per (scenario, size) from a ``labdesk bench --json`` report."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(
            f"Cannot read the SQLite report {path}: {exc}.",
            hint="Give the output of 'labdesk bench --json'.",
        ) from exc
    found: dict[tuple[str, int | None], float] = {}
    for record in records if isinstance(records, list) else []:
        if (
            isinstance(record, dict)
            and record.get("kind") == "latency"
            and isinstance(record.get("p95_ms"), int | float)
        ):
            found[(str(record["scenario"]), record.get("size"))] = float(record["p95_ms"])
    return found


@dataclass(frozen=True)
class TargetLine:
    """A target with the PostgreSQL figure and what it compares to."""

    target: Target
    measurement: Measurement | None
    sqlite_p95_ms: float | None

    @property
    def status(self) -> str:
        """``MET``, ``MISSED`` or ``NOT MEASURED``."""
        m = self.measurement
        if m is None or m.error or math.isnan(m.p95_ms):
            return "NOT MEASURED"
        return "MET" if m.p95_ms <= self.target.p95_ms else "MISSED"

    def text(self) -> str:
        """One report line."""
        m = self.measurement
        head = f"{self.target.label} ({self.target.scenario}) p95 <= {self.target.p95_ms:g} ms:"
        if m is None or self.status == "NOT MEASURED":
            return f"{head} NOT MEASURED{f' ({m.error})' if m is not None and m.error else ''}"
        parts = [f"{head} {self.status}, p95 {m.p95_ms:.2f} ms",
                 f"floor {m.floor_p95_ms:.2f} ms ({m.ratio:.1f}x)"]  # fmt: skip
        if self.sqlite_p95_ms:
            ratio = m.p95_ms / self.sqlite_p95_ms
            parts.append(f"SQLite {self.sqlite_p95_ms:.2f} ms ({ratio:.2f}x)")
        return ", ".join(parts)

    def record(self) -> dict[str, Any]:
        """The line as JSON."""
        m = self.measurement
        measured = m is not None and self.status != "NOT MEASURED"
        return {
            "kind": "target",
            "label": self.target.label,
            "scenario": self.target.scenario,
            "target_p95_ms": self.target.p95_ms,
            "size": m.size if m is not None else None,
            "p95_ms": round(m.p95_ms, 4) if measured and m is not None else None,
            "floor_p95_ms": round(m.floor_p95_ms, 4) if measured and m is not None else None,
            "ratio_to_floor": (
                round(m.ratio, 4) if measured and m is not None and math.isfinite(m.ratio) else None
            ),
            "sqlite_p95_ms": self.sqlite_p95_ms,
            "ratio_to_sqlite": (
                round(m.p95_ms / self.sqlite_p95_ms, 4)
                if measured and m is not None and self.sqlite_p95_ms
                else None
            ),
            "status": self.status,
        }


def target_lines(
    results: Results, sqlite: dict[tuple[str, int | None], float] | None
) -> list[TargetLine]:
    """The targets against the biggest size's measurements (and the SQLite figures)."""
    big = max(results.sizes)
    found = {m.scenario: m for m in results.measurements if m.size == big}
    lines = []
    for target in TARGETS:
        figure = None
        if sqlite is not None:  # the same size; the SQLite board is measured once (None)
            figure = sqlite.get((target.scenario, big), sqlite.get((target.scenario, None)))
        lines.append(TargetLine(target, found.get(target.scenario), figure))
    return lines
