"""Bench results as a table for people or as JSON (a list of dicts) for CI."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any, TextIO

from bench.harness.model import Build, Growth, Machine, Measurement, Results

_LATENCY_HEADER = (
    "Scenario", "Size", "p50 ms", "p95 ms", "cpu p95", "floor p95", "ratio", "target", "",
)  # fmt: skip
_GROWTH_HEADER = ("Scenario", "Sizes", "p95 small", "p95 big", "growth", "target", "")


def write_table(results: Results, out: TextIO) -> None:
    """Write the human-readable report."""
    engine = f"PostgreSQL {results.machine.postgres}" if results.machine.postgres else "SQLite"
    out.write(f"LabDesk bench ({engine})  {_machine_line(results.machine)}\n\n")
    for build in results.builds:
        out.write(_build_line(build) + "\n")
    if results.builds:
        out.write("\n")
    rows = [_latency_cells(m) for m in results.measurements]
    _write_grid(out, _LATENCY_HEADER, rows, right=range(1, 8))
    if results.growth:
        out.write("\nGrowth of p95 with the database size\n\n")
        _write_grid(out, _GROWTH_HEADER, [_growth_cells(g) for g in results.growth], range(2, 6))
    if results.errors:
        out.write("\nErrors\n")
        for line in results.errors:
            out.write(f"  {line}\n")
    if results.machine.postgres:
        out.write(
            "\nratio = p95 / floor p95; the floor does the same work as bare indexed SQL on a "
            "psycopg\nconnection to the same PostgreSQL server.\n"
        )
    else:
        out.write(
            "\nratio = p95 / floor p95; the floor does the same work as bare indexed SQL on a "
            "sqlite3\nconnection (cold start: a process showing a bare Qt window).\n"
        )
    if any(m.waited for m in results.measurements):
        out.write(
            "* p95 is over twice its CPU time: the calls were waiting, most likely for other "
            "processes\n  on a busy machine. Rerun on a quiet machine before reading a MISS as "
            "a regression.\n"
        )


def write_json(results: Results, out: TextIO) -> None:
    """Write the report as a JSON list of dicts, one per build, measurement and growth."""
    json.dump(to_records(results), out, indent=2, allow_nan=False)
    out.write("\n")


def to_records(results: Results) -> list[dict[str, Any]]:
    """The results as plain dicts (``kind``: machine, build, latency or growth)."""
    records: list[dict[str, Any]] = [{"kind": "machine", **asdict(results.machine)}]
    records += [_build_record(b) for b in results.builds]
    records += [_latency_record(m) for m in results.measurements]
    records += [_growth_record(g) for g in results.growth]
    return records


def _number(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(value, 4)


def _build_record(build: Build) -> dict[str, Any]:
    return {
        "kind": "build",
        "size": build.specimens,
        "patients": build.patients,
        "seconds": _number(build.seconds),
        "cached": build.cached,
        "status": "ERROR" if build.error else "",
        "error": build.error,
    }


def _latency_record(m: Measurement) -> dict[str, Any]:
    return {
        "kind": "latency",
        "scenario": m.scenario,
        "title": m.title,
        "size": m.size,
        "iterations": m.iterations,
        "p50_ms": _number(m.p50_ms),
        "p95_ms": _number(m.p95_ms),
        "floor_p50_ms": _number(m.floor_p50_ms),
        "floor_p95_ms": _number(m.floor_p95_ms),
        "cpu_p95_ms": None if m.cpu_p95_ms is None else _number(m.cpu_p95_ms),
        "waited": m.waited,
        "ratio": _number(m.ratio),
        "target_p95_ms": m.target_p95_ms,
        "status": m.status,
        "error": m.error,
    }


def _growth_record(g: Growth) -> dict[str, Any]:
    return {
        "kind": "growth",
        "scenario": g.scenario,
        "title": g.title,
        "size": g.size,
        "baseline_size": g.baseline_size,
        "p95_ms": _number(g.p95_ms),
        "baseline_p95_ms": _number(g.baseline_p95_ms),
        "growth": _number(g.growth),
        "max_growth": g.max_growth,
        "status": g.status,
    }


def _machine_line(machine: Machine) -> str:
    line = f"{machine.cpus} CPUs, Python {machine.python}, SQLite {machine.sqlite}"
    if machine.load_start is not None and machine.load_end is not None:
        line += f", load average {machine.load_start:.1f} -> {machine.load_end:.1f}"
    return line


def _build_line(build: Build) -> str:
    if build.error:
        return f"Database {build.specimens:,} specimens: ERROR {build.error}"
    how = (
        f"reused (built in {build.seconds:.1f} s)"
        if build.cached
        else f"built in {build.seconds:.1f} s"
    )
    return f"Database {build.specimens:,} specimens / {build.patients:,} patients: {how}"


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.3f}" if value < 1 else f"{value:.2f}"


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)


def _latency_cells(m: Measurement) -> tuple[str, ...]:
    ratio = "-" if m.error or math.isinf(m.ratio) else f"{m.ratio:.1f}x"
    target = "-" if m.target_p95_ms is None else f"<= {m.target_p95_ms:g} ms"
    p95 = _ms(m.p95_ms) + ("*" if m.waited else "")
    cpu = "-" if m.cpu_p95_ms is None else _ms(m.cpu_p95_ms)
    return (m.scenario, _size(m.size), _ms(m.p50_ms), p95, cpu, _ms(m.floor_p95_ms), ratio,
            target, m.status or "-")  # fmt: skip


def _growth_cells(g: Growth) -> tuple[str, ...]:
    target = "-" if g.max_growth is None else f"<= {g.max_growth:g}"
    sizes = f"{_size(g.size)}/{_size(g.baseline_size)}"
    return (g.scenario, sizes, _ms(g.baseline_p95_ms), _ms(g.p95_ms), f"{g.growth:.2f}",
            target, g.status or "-")  # fmt: skip


def _write_grid(
    out: TextIO, header: tuple[str, ...], rows: list[tuple[str, ...]], right: range
) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
