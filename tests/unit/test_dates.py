"""Dates of birth as staff type them, in the clinic's formats; the ``date_formats`` setting."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from labdesk.config import ConfigError, load_config
from labdesk.domain.dates import (
    DEFAULT_DATE_FORMATS,
    check_date_formats,
    example_date,
    parse_birth_date,
)
from labdesk.domain.errors import ValidationError

BORN = date(1945, 1, 13)
DAY_FIRST = ("%d/%m/%Y", "%Y-%m-%d")
TODAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    "text",
    ["1945-01-13", "01/13/1945", "1/13/1945", "01-13-1945", "01/13/45", " 01/13/1945 "],
    ids=["iso", "us", "us-short-month", "us-dashes", "us-two-digit-year", "spaces"],
)
def test_us_default_reads_month_first(text: str) -> None:
    assert parse_birth_date(text, DEFAULT_DATE_FORMATS, today=TODAY) == BORN


def test_day_first_is_refused_by_the_us_default_with_an_example() -> None:
    with pytest.raises(ValidationError) as info:
        parse_birth_date("13/01/1945", DEFAULT_DATE_FORMATS)
    assert info.value.message == "Date not understood: type it as 1945-01-13."


@pytest.mark.parametrize("text", ["13/01/1945", "1945-01-13"])
def test_day_first_clinic(text: str) -> None:
    assert parse_birth_date(text, DAY_FIRST) == BORN


def test_the_example_is_written_in_the_clinic_s_first_format() -> None:
    with pytest.raises(ValidationError, match=r"type it as 13/01/1945\."):
        parse_birth_date("1945/13/01", DAY_FIRST)
    assert example_date(DAY_FIRST) == "13/01/1945"
    assert example_date(()) == "1945-01-13"


@pytest.mark.parametrize("text", ["", "WB-M100001", "02/30/1945", "1945-13-01", "13.01.1945"])
def test_not_a_date(text: str) -> None:
    with pytest.raises(ValidationError, match="Date not understood"):
        parse_birth_date(text, DEFAULT_DATE_FORMATS)


def test_a_date_two_formats_read_differently_is_refused_not_guessed() -> None:
    both = ("%m/%d/%Y", "%d/%m/%Y")
    with pytest.raises(ValidationError, match="ambiguous"):
        parse_birth_date("01/02/1945", both)
    assert parse_birth_date("01/13/1945", both) == BORN  # only one reading
    assert parse_birth_date("03/03/1945", both) == date(1945, 3, 3)  # both readings agree


def test_a_two_digit_year_is_never_in_the_future() -> None:
    assert parse_birth_date("01/13/45", DEFAULT_DATE_FORMATS, today=TODAY) == BORN
    assert parse_birth_date("03/02/26", DEFAULT_DATE_FORMATS, today=TODAY) == TODAY  # newborn
    assert parse_birth_date("03/03/26", DEFAULT_DATE_FORMATS, today=TODAY) == date(1926, 3, 3)
    assert parse_birth_date("2045-01-13", DEFAULT_DATE_FORMATS, today=TODAY).year == 2045


def test_check_date_formats_names_the_first_unusable_format() -> None:
    assert check_date_formats(DEFAULT_DATE_FORMATS) == ""
    assert check_date_formats(DAY_FIRST) == ""
    assert check_date_formats(["%Y-%m-%d", "%m/%d", "%d"]) == "%m/%d"
    assert check_date_formats(["%Y-%m-%"]) == "%Y-%m-%"


def _config_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"[labdesk]\n{body}\n", encoding="utf-8")
    return path


def test_config_defaults_to_us_formats(tmp_path: Path) -> None:
    assert load_config(_config_file(tmp_path, "")).date_formats == DEFAULT_DATE_FORMATS


def test_config_reads_day_first_formats(tmp_path: Path) -> None:
    config = load_config(_config_file(tmp_path, 'date_formats = ["%d/%m/%Y", "%Y-%m-%d"]'))
    assert config.date_formats == DAY_FIRST


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("[]", "must be a list of date formats"),
        ("[1, 2]", "must be a list of date formats"),
        ('"%d/%m/%Y"', "must be a list"),
        ('["%d/%m"]', "does not read a whole date"),
    ],
    ids=["empty", "numbers", "not-a-list", "no-year"],
)
def test_config_refuses_unusable_formats(tmp_path: Path, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_config(_config_file(tmp_path, f"date_formats = {value}"))
