"""``labdesk users add`` / ``reset-password``: no password on the command line (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_world import use_cheap_hashing
from click.testing import CliRunner, Result

from labdesk.cli import _load_plugins, cli

GOOD = "seven purple giraffes dancing"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    use_cheap_hashing(monkeypatch)
    env = {
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_DATABASE_URL": "",
    }
    assert run(env, "db", "upgrade").exit_code == 0
    return env


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    _load_plugins()
    return CliRunner().invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)


def _usernames(env: dict[str, str]) -> list[str]:
    out = run(env, "users", "list").output
    return [line.split()[0] for line in out.splitlines() if not line.endswith("users.")]


def _secret_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    "command", [["add", "ana", "--name", "Ana Medina"], ["reset-password", "ana"]]
)
def test_a_password_argument_is_refused_with_a_hint(
    env: dict[str, str], command: list[str]
) -> None:
    result = run(env, "users", *command, "--password", GOOD)
    assert result.exit_code == 2
    assert "password on the command line is refused" in result.output
    assert "--password-file" in result.output
    assert GOOD not in result.output
    assert _usernames(env) == []


def test_the_password_is_asked_twice_without_echo(env: dict[str, str]) -> None:
    result = run(env, "users", "add", "ana", "--name", "Ana Medina", stdin=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output
    assert GOOD not in result.output  # hidden input: nothing echoed
    assert _usernames(env) == ["ana"]


def test_the_password_is_read_from_a_private_file(env: dict[str, str], tmp_path: Path) -> None:
    secret = _secret_file(tmp_path, GOOD)
    result = run(env, "users", "add", "ana", "--name", "Ana Medina", "--password-file", str(secret))
    assert result.exit_code == 0, result.output
    assert _usernames(env) == ["ana"]
    reset = run(env, "users", "reset-password", "ana", "--password-file", str(secret))
    assert reset.exit_code == 0, reset.output


def test_a_password_file_others_can_read_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    secret = _secret_file(tmp_path, GOOD, mode=0o644)
    result = run(env, "users", "add", "ana", "--name", "Ana Medina", "--password-file", str(secret))
    assert result.exit_code == 2
    assert "can be read by other users" in result.output
    assert "chmod 600" in result.output
    assert _usernames(env) == []


def test_help_offers_the_file_not_the_argument(env: dict[str, str]) -> None:
    out = run(env, "users", "add", "--help").output
    assert "--password-file" in out
    assert "--password " not in out


def test_a_password_made_of_the_persons_name_is_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    secret = _secret_file(tmp_path, "jonathansmithers")
    result = run(
        env, "users", "add", "jsmith", "--name", "Jonathan Smithers", "--password-file", str(secret)
    )
    assert result.exit_code == 2
    assert "contains your name" in result.output
    assert "Leave your name and user name out" in result.output
    assert _usernames(env) == []
