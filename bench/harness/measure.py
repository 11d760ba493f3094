"""Timing loops and percentiles."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def percentile(samples: Sequence[float], pct: int) -> float:
    """The ``pct``-th percentile (1..99) of ``samples``, interpolated between ranks."""
    if not samples:
        raise ValueError("no samples")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


@dataclass
class Timings:
    """Durations in milliseconds, per call: wall clock, and the run's CPU time in this thread."""

    run_ms: list[float] = field(default_factory=list)
    run_cpu_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)


def _timed(call: Callable[[int], object], i: int) -> tuple[float, float]:
    cpu = time.thread_time_ns()
    wall = time.perf_counter_ns()
    call(i)
    wall = time.perf_counter_ns() - wall
    cpu = time.thread_time_ns() - cpu
    return wall / 1e6, cpu / 1e6


def time_alternating(
    run: Callable[[int], object],
    floor: Callable[[int], object],
    *,
    iterations: int,
    warmup: int,
) -> Timings:
    """Time ``run(i)`` and ``floor(i)`` interleaved (order swapped each time) for fairness.

    Calls ``i = 0 .. warmup + iterations - 1``; the first ``warmup`` calls are not timed.
    CPU time shows how much of a slow call was this thread working rather than waiting
    (for another process on a busy machine, for a subprocess, for the disk).
    """
    gc.collect()
    for i in range(warmup):
        floor(i)
        run(i)
    timings = Timings()
    for i in range(warmup, warmup + iterations):
        if i % 2:
            floor_wall, _ = _timed(floor, i)
            run_wall, run_cpu = _timed(run, i)
        else:
            run_wall, run_cpu = _timed(run, i)
            floor_wall, _ = _timed(floor, i)
        timings.run_ms.append(run_wall)
        timings.run_cpu_ms.append(run_cpu)
        timings.floor_ms.append(floor_wall)
    return timings
