"""The ``labdesk`` command line, as an admin would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from labdesk.cli import _load_plugins, cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_DATABASE_URL": "",
    }


def run(env: dict[str, str], *args: str) -> Result:
    _load_plugins()
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_help_lists_every_command(env: dict[str, str]) -> None:
    out = run(env, "--help").output
    for command in ("app", "demo", "db", "catalog", "seed-demo", "bench"):
        assert f"  {command} " in out


def test_python_m_labdesk_works() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "labdesk", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "labdesk" in proc.stdout


def test_db_upgrade_is_idempotent(env: dict[str, str]) -> None:
    first = run(env, "db", "upgrade")
    assert first.exit_code == 0
    assert "upgraded from empty" in first.output
    second = run(env, "db", "upgrade")
    assert second.exit_code == 0
    assert "nothing to do" in second.output
    assert "up to date" not in run(env, "db", "status").output


def test_catalog_list_prints_the_shipped_tests(env: dict[str, str]) -> None:
    assert run(env, "db", "upgrade").exit_code == 0  # a read-only command creates nothing
    result = run(env, "catalog", "list")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line[:1].isupper()]
    codes = {line.split()[0] for line in lines[1:-1]}
    assert {
        "CBC",
        "BMP",
        "CMP",
        "LIPID",
        "A1C",
        "TSH",
        "FT4",
        "PTINR",
        "APTT",
        "BCX",
        "GLUF",
        "UA",
        "UACUL",
        "UDS",
        "UDSDOT",
    } <= codes
    assert len(codes) >= 25


def test_catalog_import_reports_every_bad_row(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "compendium.csv"
    bad.write_text(
        "code,loinc,name,specimen_type,container_code,preferred_volume_ml,minimum_volume_ml,"
        "stability_ambient_h,stability_refrigerated_h,stability_frozen_h,transport_temperature,"
        "routine_tat_min,stat_tat_min,working_days,critical_low,critical_high,units,handling\n"
        "X1,2276-4,Ok,serum,SST,1,0.5,8,72,720,refrigerated,1440,,false,,,,\n"
        "X2,abc,Bad loinc,serum,SST,1,0.5,8,72,720,refrigerated,1440,,false,,,,\n"
        "X3,2276-4,Bad volume,serum,SST,one,0.5,8,72,720,refrigerated,1440,,false,,,,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["catalog", "import", str(bad)], env=env)
    assert result.exit_code == 2
    assert "row 3, loinc" in result.output
    assert "row 4, preferred_volume_ml" in result.output
    assert "nothing imported" in result.output
    assert "X1 " not in run(env, "catalog", "list").output


def test_seed_demo_reports_states(env: dict[str, str]) -> None:
    result = run(env, "seed-demo", "--patients", "10", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "Created 10 patients" in result.output
    assert "overdue transit 1, missing 1" in result.output


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", "not a valid database URL"),
        ("mysql://u:p@h/db", "Unsupported database"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/x", "Cannot reach the database server"),
    ],
)
def test_bad_database_url_exits_non_zero(env: dict[str, str], url: str, words: str) -> None:
    env["LABDESK_DATABASE_URL"] = url
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 2
    assert words in result.output
    assert "secret" not in result.output
    assert "What to do:" in result.output


def test_newer_database_refused(env: dict[str, str], tmp_path: Path) -> None:
    import sqlite3

    assert run(env, "db", "upgrade").exit_code == 0
    db = Path(env["LABDESK_DATA_DIR"]) / "labdesk.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    result = CliRunner().invoke(cli, ["catalog", "list"], env=env)
    assert result.exit_code == 2
    assert "newer LabDesk" in result.output
