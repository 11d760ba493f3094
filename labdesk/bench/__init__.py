"""``labdesk bench``: performance scenarios on synthetic databases, against their floors.

Each scenario's p50/p95 is reported with its ratio to a floor doing the same work as bare
indexed SQL, at a small and a big database (10k and 1M specimens; 10k and 100k with
``quick``), plus how p95 grows between them. Databases are synthetic (never patient data),
bulk-loaded and cached per size, seed and schema revision. Scenarios are declared in
:data:`labdesk.bench.scenarios.SCENARIOS`; other packages add theirs through the
``labdesk.bench_scenarios`` entry-point group (``printers`` does: label rendering and the
print action), so the core never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TextIO

from labdesk.bench.model import Results, Scenario
from labdesk.bench.report import write_json, write_table
from labdesk.bench.runner import Plan, execute
from labdesk.bench.scenarios import SCENARIOS, all_scenarios, by_name

__all__ = ["SCENARIOS", "Plan", "Results", "Scenario", "execute", "run"]


def run(
    quick: bool,
    as_json: bool,
    out: TextIO,
    progress: Callable[[str], None] | None = None,
    only: Sequence[str] = (),
) -> int:
    """Run every scenario (or those named in ``only``) and write the report to ``out``.

    Args:
        quick: Use the 10k/100k plan with fewer iterations instead of 10k/1M.
        as_json: Write a JSON list of dicts instead of a table.
        out: Where the report goes.
        progress: Called with a line of text as databases are built and scenarios run.
        only: Scenario names; when given, only these are set up and measured (and only
            the databases they need are built).

    Returns:
        0 when every scenario ran (whether or not it met its target); 1 when a database
        could not be built or a scenario failed (the report says which and why).

    Raises:
        BenchError: when ``only`` names a scenario that does not exist (the message lists
            the valid names); nothing is measured then.
    """
    scenarios = by_name(tuple(only)) if only else all_scenarios()
    plan = Plan.quick() if quick else Plan.full()
    results = execute(plan, scenarios, progress)
    if as_json:
        write_json(results, out)
    else:
        write_table(results, out)
    return 1 if results.errors else 0
