"""``labdesk bench --only NAME``: only the named scenarios are built and measured."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import bench
from bench.harness.runner import Plan
from labdesk.cli import cli

HL7 = ["hl7-ingest", "hl7-ingest-burst"]


def test_an_unknown_name_exits_2_listing_the_valid_names() -> None:
    result = CliRunner().invoke(cli, ["bench", "--quick", "--only", "no-such-scenario"])

    assert result.exit_code == 2
    assert "no-such-scenario" in result.output
    assert "hl7-ingest-burst" in result.output  # the valid names are listed


def test_only_the_named_scenarios_are_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = Plan(sizes=(300,), iterations=2, warmup=1, process_runs=1, cache_dir=tmp_path)
    monkeypatch.setattr(bench.Plan, "quick", classmethod(lambda cls: tiny))
    out = io.StringIO()

    code = bench.run(quick=True, as_json=True, out=out, only=[*HL7, "hl7-ingest"])

    assert code == 0
    latency = [r for r in json.loads(out.getvalue()) if r["kind"] == "latency"]
    assert [r["scenario"] for r in latency] == HL7
    assert all(r["p95_ms"] is not None for r in latency)
