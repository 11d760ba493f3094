"""Bad database states are named, never a traceback or a silently made database (issue 15).

Each case was reproduced on main: a malformed port printed a traceback; a mistyped SQLite
path left folders and an empty database behind a read-only command; overwritten pages
passed ``db status`` and then ``custody verify`` died with a raw ``sqlite3.DatabaseError``;
a zero-length file was given a fresh schema and reported "0 events, intact"; a read-only
folder got the hint "check the path".
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.exc import OperationalError

from labdesk.adapters.database import make_engine, parse_url, translate_error
from labdesk.bootstrap import bootstrap
from labdesk.cli import _load_plugins, cli
from labdesk.cli.demo_setup import demo_config
from labdesk.config import sqlite_url
from labdesk.domain.errors import StorageError

READ_ONLY_COMMANDS = [
    ["db", "status"],
    ["custody", "verify"],
    ["audit", "verify"],
    ["catalog", "list"],
    ["users", "list"],
    ["overdue", "counts"],
    ["hl7", "worklist", "--user", "lina"],
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_DATABASE_URL": "",
    }


def run(env: dict[str, str], *args: str) -> Result:
    """Run a command; an exception escaping it fails the test (catch_exceptions=False)."""
    _load_plugins()
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _database(env: dict[str, str]) -> Path:
    return Path(env["LABDESK_DATA_DIR"]) / "labdesk.sqlite3"


def _refused(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "What to do:" in result.output
    for word in words:
        assert word in result.output


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("postgresql+psycopg://lab@127.0.0.1:54x2/labdesk", "the port must be a number"),
        ("postgresql+psycopg://lab@127.0.0.1:99999/labdesk", "port 99999 is not 1 to 65535"),
    ],
)
def test_a_malformed_port_is_named(env: dict[str, str], url: str, words: str) -> None:
    env["LABDESK_DATABASE_URL"] = url
    _refused(run(env, "db", "status"), words)


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=" ".join)
def test_a_missing_sqlite_file_is_reported_not_created(
    env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo" / "clinic" / "labdesk.sqlite3"
    env["LABDESK_DATABASE_URL"] = sqlite_url(missing)
    _refused(run(env, *command), f"There is no LabDesk database at {missing}", "db upgrade")
    assert not (tmp_path / "typo").exists()


def _overwrite_custody_pages(path: Path) -> int:
    """Fill the custody table's pages with garbage, as a failing disk would."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            p for (p,) in conn.execute("SELECT pageno FROM dbstat WHERE name = 'custody_events'")
        ]
    conn.close()
    with path.open("r+b") as file:
        for page in pages:
            file.seek((page - 1) * page_size + 8)
            file.write(b"\xff" * (page_size - 8))
    return len(pages)


def test_overwritten_pages_are_caught_by_status_and_verify(env: dict[str, str]) -> None:
    assert run(env, "seed-demo", "--patients", "12").exit_code == 0
    assert _overwrite_custody_pages(_database(env)) >= 1
    _refused(run(env, "db", "status"), "is damaged", "backup")
    _refused(run(env, "custody", "verify"), "is damaged", "backup")


@pytest.mark.parametrize(
    "command", [*READ_ONLY_COMMANDS, ["seed-demo", "--patients", "1"]], ids=" ".join
)
def test_a_zero_length_file_is_reported_empty_never_given_a_schema(
    env: dict[str, str], command: list[str]
) -> None:
    assert run(env, "db", "upgrade").exit_code == 0
    database = _database(env)
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    database.write_bytes(b"")  # truncated
    result = run(env, *command)
    _refused(result, "is empty (0 bytes)", "backup")
    assert "intact" not in result.output
    assert database.stat().st_size == 0


def test_the_app_refuses_a_zero_length_file(tmp_path: Path) -> None:
    database = tmp_path / "labdesk.sqlite3"
    database.write_bytes(b"")
    config = demo_config(tmp_path).with_overrides(database_url=sqlite_url(database))
    with pytest.raises(StorageError, match=r"empty \(0 bytes\)"):
        bootstrap(config)
    assert database.stat().st_size == 0


def test_a_database_without_a_schema_is_refused_by_read_only_commands(
    env: dict[str, str],
) -> None:
    database = _database(env)
    database.parent.mkdir(parents=True)
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE unrelated (x)")
    conn.close()
    _refused(run(env, "custody", "verify"), "holds no LabDesk data")


def _unable_to_open() -> OperationalError:
    return OperationalError(
        "SELECT 1", {}, sqlite3.OperationalError("unable to open database file")
    )


def test_a_read_only_folder_is_named_not_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "clinic"
    folder.mkdir()
    url = parse_url(sqlite_url(folder / "labdesk.sqlite3"))
    real_access = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        return False if Path(str(path)) == folder else real_access(path, mode)  # type: ignore[arg-type]

    monkeypatch.setattr("labdesk.adapters.database.os.access", access)
    error = translate_error(_unable_to_open(), url)
    assert f"The folder {folder}" in error.message
    assert "read-only" in error.message
    assert "check the path" not in error.hint.lower()
    assert "write permission" in error.hint


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_real_read_only_folder_is_named(env: dict[str, str]) -> None:
    assert run(env, "db", "upgrade").exit_code == 0
    folder = Path(env["LABDESK_DATA_DIR"])
    for suffix in ("-wal", "-shm"):
        (folder / f"labdesk.sqlite3{suffix}").unlink(missing_ok=True)
    folder.chmod(0o500)
    try:
        result = run(env, "catalog", "list")
    finally:
        folder.chmod(0o700)
    _refused(result, "read-only")
    assert "Check the path" not in result.output


def test_db_upgrade_still_creates_a_new_database(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "new" / "clinic.sqlite3"
    env["LABDESK_DATABASE_URL"] = sqlite_url(target)
    assert run(env, "db", "upgrade").exit_code == 0
    assert "Schema:" in run(env, "db", "status").output
    make_engine(sqlite_url(target), create=False).dispose()  # exists now
