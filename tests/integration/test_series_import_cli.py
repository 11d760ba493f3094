"""``labdesk catalog import`` says which kind of compendium file it stored (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from labdesk.catalog.series import shipped_series_text
from labdesk.cli import _load_plugins, cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_DATABASE_URL": "",
    }


def _import(env: dict[str, str], path: Path) -> str:
    _load_plugins()
    result = CliRunner().invoke(cli, ["catalog", "import", str(path)], env=env)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_the_import_message_names_the_kind_of_file(env: dict[str, str], tmp_path: Path) -> None:
    series = tmp_path / "series.csv"
    series.write_text(shipped_series_text(), encoding="utf-8")
    steps = len(shipped_series_text().strip().splitlines()) - 1
    assert _import(env, series) == f"Imported {steps} timed-draw series steps from {series}."

    preparation = tmp_path / "preparation.csv"
    preparation.write_text(
        "test_code,fasting_hours,last_dose_hours,first_morning_urine,question,met_when\n"
        "GTT0,10,,false,When did the patient last eat?,nothing but water for 10 h\n",
        encoding="utf-8",
    )
    assert _import(env, preparation) == f"Imported 1 patient preparation rule from {preparation}."

    tests = tmp_path / "tests.csv"
    tests.write_text(
        "code,loinc,name,specimen_type,container_code,preferred_volume_ml,minimum_volume_ml,"
        "stability_ambient_h,stability_refrigerated_h,stability_frozen_h,transport_temperature,"
        "routine_tat_min,stat_tat_min,working_days,critical_low,critical_high,units,handling\n"
        "X1,2276-4,Ferritin,serum,SST,1,0.5,8,72,720,refrigerated,1440,,false,,,,\n"
        "X2,2132-9,Vitamin B12,serum,SST,1,0.5,8,72,720,refrigerated,1440,,false,,,,\n",
        encoding="utf-8",
    )
    assert _import(env, tests) == f"Imported 2 tests from {tests}."
