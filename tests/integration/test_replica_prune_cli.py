"""``labdesk replica prune``, as an admin (or a scheduled job) would run it, on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select, update

from labdesk.adapters.downtime.station_store import open_station_store
from labdesk.adapters.orm.replica import replica_log
from labdesk.cli import _load_plugins, cli
from labdesk.cli.replica_cmd import replica_prune
from labdesk.replica.prune import DEFAULT_KEEP


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        # Not there: only --database-url may be used.
        "LABDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'absent.sqlite3'}",
    }


def run(env: dict[str, str], *args: str) -> Result:
    _load_plugins()
    return CliRunner().invoke(cli, ["replica", "prune", *args], env=env)


def _seqs(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(s) for s in conn.scalars(select(replica_log.c.seq).order_by(replica_log.c.seq))]


def test_prune_removes_what_is_older_than_the_keep_days(
    engine: Engine, station_world: object, env: dict[str, str]
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    seqs = _seqs(engine)
    half = seqs[len(seqs) // 2]
    now = datetime.now(UTC)  # the command's clock is the real one
    with engine.begin() as conn:
        conn.execute(update(replica_log).values(changed_at=now - timedelta(days=5)))
        old = update(replica_log).where(replica_log.c.seq < half)
        conn.execute(old.values(changed_at=now - timedelta(days=45)))
    removed = len([s for s in seqs if s < half])

    result = run(env, "--keep-days", "40", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert f"{removed} entries removed" in result.output
    assert f"the log now starts at change {half}" in result.output
    assert _seqs(engine)[: len(seqs) - removed] == [s for s in seqs if s >= half]

    again = run(env, "--database-url", url)  # the default window keeps the rest
    assert again.exit_code == 0, again.output
    assert "0 entries removed" in again.output


def test_prune_options_and_refusals(
    engine: Engine, station_world: object, env: dict[str, str], tmp_path: Path
) -> None:
    (keep_days,) = [p for p in replica_prune.params if p.name == "keep_days"]
    assert keep_days.default == DEFAULT_KEEP.days  # the CLI does not import the default
    _load_plugins()
    assert "prune" in CliRunner().invoke(cli, ["replica", "--help"]).output
    url = engine.url.render_as_string(hide_password=False)
    assert run(env, "--keep-days", "0", "--database-url", url).exit_code == 2
    missing = run(env)  # LABDESK_DATABASE_URL names no database: refused, nothing created
    assert missing.exit_code == 2
    assert "no LabDesk database" in missing.output
    assert not (tmp_path / "absent.sqlite3").exists()
    station = open_station_store(tmp_path / "station.sqlite3", "DRAW-2")
    station.close()
    refused = run(env, "--database-url", f"sqlite:///{tmp_path / 'station.sqlite3'}")
    assert refused.exit_code == 2
    assert "station file" in refused.output
