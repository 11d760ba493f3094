"""How busy the machine was during a network-load run, and who used the CPU.

On a clinic network every station is its own computer; here the simulated stations, the
lab's HL7 sender and listener and the live workstation share the database server's CPUs.
When the machine is saturated, each figure includes waiting for a CPU: the report says so
with the machine's busy share (``/proc/stat``) and the CPU time of the run's own processes
(``RUSAGE_CHILDREN``: the processes it started and joined); the rest is the database server
and everything else on the machine.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class CpuMark:
    """CPU counters at one moment (machine busy and idle seconds, children's CPU seconds)."""

    busy_s: float
    idle_s: float
    children_s: float


@dataclass(frozen=True)
class CpuUse:
    """Between two marks."""

    cpus: int
    busy_share: float
    """Of all CPUs' time, the share not idle (0..1)."""
    busy_s: float
    children_s: float
    """CPU seconds of the processes the run started (stations, HL7, live workstation)."""

    @property
    def others_s(self) -> float:
        """CPU seconds of everything else: the database server above all."""
        return max(0.0, self.busy_s - self.children_s)

    def line(self) -> str:
        """The report's line."""
        verdict = (
            "saturated: every figure includes waiting for a CPU"
            if self.busy_share >= 0.9
            else "not saturated"
        )
        return (
            f"cpu: {self.cpus} CPUs {self.busy_share:.0%} busy ({verdict}); the run's processes "
            f"(stations, HL7, live workstation) used {self.children_s:.0f} CPU-s, the database "
            f"server and the rest {self.others_s:.0f} CPU-s\n"
        )


def mark() -> CpuMark | None:
    """The counters now (None where ``/proc/stat`` is not there)."""
    try:
        fields = _STAT.read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields]
    hz = os.sysconf("SC_CLK_TCK")
    idle = (ticks[3] + ticks[4]) / hz  # idle and iowait
    total = sum(ticks[:8]) / hz  # guest time is counted in user already
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuMark(busy_s=total - idle, idle_s=idle, children_s=usage.ru_utime + usage.ru_stime)


def between(start: CpuMark | None, end: CpuMark | None) -> CpuUse | None:
    """What was used from ``start`` to ``end`` (None without both)."""
    if start is None or end is None:
        return None
    busy = end.busy_s - start.busy_s
    idle = end.idle_s - start.idle_s
    share = busy / (busy + idle) if busy + idle > 0 else 0.0
    return CpuUse(
        cpus=os.cpu_count() or 1,
        busy_share=share,
        busy_s=busy,
        children_s=end.children_s - start.children_s,
    )
