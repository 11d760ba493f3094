"""``labdesk bench``: performance scenarios on synthetic databases, against their floors.

Each scenario's p50/p95 is reported with its ratio to a floor doing the same work as bare
indexed SQL (or a bare Qt process), at a small and a big database (10k and 1M specimens;
10k and 100k with ``quick``), plus how p95 grows between them. Databases are synthetic
(never patient data), bulk-loaded and cached per size, seed and schema revision.

Why a top-level package beside ``labdesk``, ``printers`` and ``ui``: the benchmarks drive
all three (the core's services, label rendering, Qt screens in worker processes), so inside
any one of them they were either an upward import or an entry-point detour, and about 4,000
lines of measuring code sat in the product's folders. Here they read end to end, in the
order a run goes:

* :mod:`bench.scenarios`: every scenario, in report order (start here).
* :mod:`bench.harness`: the scenario model, timing, the run plan and the report.
* :mod:`bench.data`: the synthetic databases (generated rows, reference data, cache).
* :mod:`bench.core`: scenarios over the Qt-free core (lookups, HL7, custody, station, board).
* :mod:`bench.printing`: label rendering, printing and the courier manifest.
* :mod:`bench.ui`: cold start, and the Qt workers the bench starts as subprocesses.
* :mod:`bench.postgres`: the same scenarios on PostgreSQL (``--database-url``), with the
  loader :mod:`bench.data.pg_copy` and the worlds' cache :mod:`bench.harness.pg`.

It ships in the wheel (pyproject.toml lists it) so ``labdesk bench`` works from a normal
install; import-linter holds that no product module imports it (only the ``labdesk bench``
command, inside its function) and that :mod:`bench.core` never imports Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from bench.harness.model import Results, Scenario
from bench.harness.report import write_json, write_table
from bench.harness.runner import Plan, execute
from bench.scenarios import SCENARIOS, all_scenarios, by_name

__all__ = ["SCENARIOS", "Plan", "Results", "Scenario", "execute", "run"]


def run(
    quick: bool,
    as_json: bool,
    out: TextIO,
    progress: Callable[[str], None] | None = None,
    only: Sequence[str] = (),
    database_url: str | None = None,
    compare: Path | None = None,
    network: Mapping[str, Any] | None = None,
) -> int:
    """Run every scenario (or those named in ``only``) and write the report to ``out``.

    Args:
        quick: Use the 10k/100k plan with fewer iterations instead of 10k/1M.
        as_json: Write a JSON list of dicts instead of a table.
        out: Where the report goes.
        progress: Called with a line of text as databases are built and scenarios run.
        only: Scenario names; when given, only these are set up and measured (and only
            the databases they need are built).
        database_url: A PostgreSQL database: measure there instead of SQLite files
            (:mod:`bench.postgres`; ``only`` may then name ``network-load``).
        compare: With ``database_url``: a ``--json`` SQLite report for the target lines.
        network: With ``only=("network-load",)``: keyword arguments of
            :func:`bench.network.run_network_load` (stations, actions_per_station,
            specimens, fault, restart_command).

    Returns:
        0 when every scenario ran (whether or not it met its target); 1 when a database
        could not be built or a scenario failed (the report says which and why).

    Raises:
        BenchError: when ``only`` names a scenario that does not exist (the message lists
            the valid names); nothing is measured then.
    """
    if database_url is not None:
        from bench import postgres

        return postgres.run(database_url, quick=quick, as_json=as_json, out=out,
                            progress=progress, only=only, compare=compare,
                            network=network)  # fmt: skip
    scenarios = by_name(tuple(only)) if only else all_scenarios()
    plan = Plan.quick() if quick else Plan.full()
    results = execute(plan, scenarios, progress)
    if as_json:
        write_json(results, out)
    else:
        write_table(results, out)
    return 1 if results.errors else 0
