"""The printer bench scenarios are registered and run (no timing asserts)."""

from __future__ import annotations

import pytest

from bench.harness.runner import Plan, execute
from bench.printing.labels import scenarios
from bench.scenarios import all_scenarios, by_name, extra_scenarios

pytestmark = pytest.mark.integration

PRINTER_SCENARIOS = ["zpl-label", "pdf-sheet-30", "print-order-6"]


def test_printer_scenarios_are_registered() -> None:
    extras = [s.name for s in extra_scenarios()]
    assert [name for name in extras if name in PRINTER_SCENARIOS] == PRINTER_SCENARIOS
    assert set(PRINTER_SCENARIOS) <= {s.name for s in all_scenarios()}
    assert [s.name for s in by_name(["print-order-6"])] == ["print-order-6"]
    for scenario in scenarios():
        assert not scenario.per_size
        assert scenario.target_p95_ms is not None


def test_printer_scenarios_run_against_their_floors() -> None:
    plan = Plan(sizes=(10,), iterations=3, warmup=1, process_runs=1)
    results = execute(plan, scenarios())
    assert results.errors == []
    measured = {m.scenario: m for m in results.measurements}
    assert sorted(measured) == sorted(PRINTER_SCENARIOS)
    for measurement in measured.values():
        assert measurement.iterations == 3
        assert measurement.p95_ms > 0
        assert measurement.floor_p95_ms > 0
