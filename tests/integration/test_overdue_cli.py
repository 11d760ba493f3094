"""``labdesk overdue`` and the ``[overdue]`` config section."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from labdesk.access import credentials
from labdesk.cli import cli
from labdesk.config import ConfigError, load_config
from labdesk.results.overdue_settings import overdue_settings, settings_from_mapping


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(
        credentials, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    config = tmp_path / "config.toml"
    config.write_text('[overdue]\ncritical_ack_min = 30\ndefault_covering = "doctor"\n')
    return {
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(config),
        "LABDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
    }


def test_counts_and_sweep(env: dict[str, str]) -> None:
    runner = CliRunner()
    seeded = runner.invoke(cli, ["seed-demo", "--patients", "9"], env=env)
    assert seeded.exit_code == 0, seeded.output
    counts = runner.invoke(cli, ["overdue", "counts"], env=env)
    assert counts.exit_code == 0, counts.output
    assert "open ordered tests" in counts.output
    assert "Critical, not acknowledged" in counts.output
    sweep = runner.invoke(cli, ["overdue", "sweep"], env=env)
    assert sweep.exit_code == 0, sweep.output
    assert "escalation(s) recorded." in sweep.output
    assert "Smith" not in counts.output + sweep.output  # no patient names
    refused = runner.invoke(cli, ["overdue", "cover", "doctor", "ma"], env=env)
    assert refused.exit_code == 2
    assert "not a clinician" in refused.output
    unknown = runner.invoke(cli, ["overdue", "cover", "doctor", "nobody"], env=env)
    assert unknown.exit_code == 2


def test_rebuild_board_lists_every_open_test(env: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["seed-demo", "--patients", "9"], env=env).exit_code == 0
    counts = runner.invoke(cli, ["overdue", "counts"], env=env)
    open_tests = counts.output.split(" open ordered tests")[0].strip()
    rebuilt = runner.invoke(cli, ["overdue", "rebuild-board"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    # Open tests plus those acknowledged in the last days (shown on request).
    listed = int(
        rebuilt.output.split(" ordered tests on the board")[0].split()[-1].replace(",", "")
    )
    assert listed >= int(open_tests.replace(",", ""))
    again = runner.invoke(cli, ["overdue", "rebuild-board"], env=env)
    assert f"{listed:,} ordered tests on the board" in again.output


def test_settings_from_the_config_file(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text(
        '[labdesk]\nclinic_timezone = "America/Chicago"\n'
        "[overdue]\n"
        'holidays = ["2026-12-25", 2026-12-31]\n'
        'workdays = ["Mon", "tue", "wed", "thu", "fri", "sat"]\n'
        'day_start = "08:00"\n'
        'day_end = "18:00"\n'
        "pickup_grace_min = 90\n"
        "collect_same_day = false\n"
    )
    settings = overdue_settings(load_config(file))
    calendar = settings.policy.calendar
    assert calendar.timezone == "America/Chicago"
    assert calendar.holidays == {date(2026, 12, 25), date(2026, 12, 31)}
    assert calendar.workdays == frozenset(range(6))
    assert (calendar.day_start, calendar.day_end) == (time(8), time(18))
    assert settings.policy.pickup_grace_min == 90
    assert settings.policy.collect_same_day is False
    missing = overdue_settings(load_config(tmp_path / "absent.toml"))
    assert missing.policy.critical_ack_min == 60
    assert missing.policy.calendar.day_end is None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        pytest.param({"pickup_grace": 5}, "one of", id="unknown-key"),
        pytest.param({"ack_normal_h": -1}, "whole number", id="negative"),
        pytest.param({"ack_normal_h": True}, "whole number", id="bool"),
        pytest.param({"holidays": ["25/12/2026"]}, "YYYY-MM-DD", id="holiday"),
        pytest.param({"workdays": ["funday"]}, "made of", id="workday"),
        pytest.param({"day_start": "8am"}, "time such as", id="time"),
        pytest.param({"day_start": "18:00", "day_end": "08:00"}, "close after", id="window"),
        pytest.param({"collect_same_day": "yes"}, "true or false", id="flag"),
        pytest.param({"default_covering": 3}, "user name", id="covering"),
    ],
)
def test_bad_settings_say_what_to_fix(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping(section, "America/New_York")


def test_unreadable_config_file(tmp_path: Path) -> None:
    file = tmp_path / "broken.toml"
    file.write_text("[overdue\n")
    with pytest.raises(ConfigError, match="Cannot read"):
        load_config(file)


def test_the_file_is_read_once_and_the_section_handed_over(tmp_path: Path) -> None:
    """Overdue settings parse what load_config read; they never open the file again."""
    file = tmp_path / "c.toml"
    file.write_text('[overdue]\npickup_grace_min = 45\ndefault_covering = "Doctor"\n')
    config = load_config(file)
    file.unlink()
    settings = overdue_settings(config)
    assert (settings.policy.pickup_grace_min, settings.default_covering) == (45, "doctor")


def test_bad_overdue_value_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("[overdue]\nack_normal_h = -3\n")
    with pytest.raises(ConfigError, match=re.escape(f"'ack_normal_h' in [overdue] of {file}")):
        overdue_settings(load_config(file))


def test_overdue_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("overdue = 3\n")
    with pytest.raises(ConfigError, match="must be a table"):
        load_config(file)
