"""``labdesk custody verify`` as an administrator runs it."""

from __future__ import annotations

from pathlib import Path

from access_world import drop_append_only_guard
from click.testing import CliRunner
from custody_world import World
from sqlalchemy import Engine, text

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.cli import cli
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
