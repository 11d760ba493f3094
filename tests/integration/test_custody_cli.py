"""``labdesk custody verify`` as an administrator runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_world import drop_append_only_guard
from click.testing import CliRunner
from custody_world import World
from sqlalchemy import Engine, text

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.bootstrap import bootstrap
from labdesk.cli import cli
from labdesk.config import load_config
from labdesk.domain.clock import FixedClock


def _run(sqlite_url: str, tmp_path: Path) -> tuple[int, str, str]:
    env = {
        "LABDESK_DATABASE_URL": sqlite_url,
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
    }
    result = CliRunner().invoke(cli, ["custody", "verify"], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_verify_exits_zero_when_intact_and_one_naming_tampering(
    sqlite_engine: Engine, sqlite_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    world = World.build(UnitOfWorkFactory(sqlite_engine), clock)
    accession = world.specimen()

    code, out, _ = _run(sqlite_url, tmp_path)
    assert code == 0
    assert "3 custody events of 1 specimens" in out
    assert "intact" in out

    drop_append_only_guard(sqlite_engine, "custody_events")
    with sqlite_engine.begin() as conn:
        conn.execute(text("UPDATE custody_events SET note = 'changed' WHERE id = 2"))
    code, out, err = _run(sqlite_url, tmp_path)
    assert code == 1
    assert "3 problem(s) found" in err  # the edit and the two dropped triggers
    assert "UNGUARDED custody_events" in out
    assert "MODIFIED" in out
    assert "event 2" in out
    assert accession in out


def test_app_commits_anchor_by_default_and_verify_catches_a_cut_tail(
    sqlite_engine: Engine,
    sqlite_url: str,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the real start-up: no anchor configured, yet the tail is anchored."""
    monkeypatch.setenv("LABDESK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LABDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LABDESK_CONFIG", str(tmp_path / "absent.toml"))
    core = bootstrap(load_config())
    try:
        world = World.build(core.uow, clock)
        world.specimen()
        world.specimen()
    finally:
        core.close()
    assert (tmp_path / "data" / "chain-anchors.jsonl").exists()
    code, out, _ = _run(sqlite_url, tmp_path)
    assert code == 0
    assert "no anchored head" not in out

    drop_append_only_guard(sqlite_engine, "custody_events")
    with sqlite_engine.begin() as conn:  # cut the tail and hide it from the counter
        conn.execute(text("DELETE FROM custody_events WHERE id > 3"))
        conn.execute(text("UPDATE counters SET value = 3 WHERE name = 'custody-chain'"))
    code, out, _ = _run(sqlite_url, tmp_path)

    assert code == 1
    assert "counter was lowered" in out
    assert "UNGUARDED custody_events" in out
