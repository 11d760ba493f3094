"""Code 128 module patterns, including the python-barcode leading-99 workaround."""

from __future__ import annotations

import pytest

from labdesk.domain.errors import ValidationError
from printers.code128 import bar_runs, code128_modules


@pytest.mark.parametrize("data", ["2600012349", "9900000010", "9999999999", "0000000000"])
def test_ten_digits_are_five_subset_c_characters(data: str) -> None:
    # 11 modules per character x (5 data + start + check) + 13 for the stop pattern.
    assert len(code128_modules(data)) == 11 * 7 + 13


def test_leading_99_is_not_dropped() -> None:
    assert code128_modules("9900000010") != code128_modules("0000000010")


def test_pattern_starts_with_start_c_and_ends_with_stop() -> None:
    modules = code128_modules("2600012349")
    assert modules.startswith("11010011100")  # START C
    assert modules.endswith("1100011101011")  # STOP


@pytest.mark.parametrize("data", ["", "ÄBC", "A\nB"])
def test_unencodable_data_is_rejected(data: str) -> None:
    with pytest.raises(ValidationError):
        code128_modules(data)


def test_bar_runs() -> None:
    assert bar_runs("1101100111") == [(0, 2), (3, 2), (7, 3)]
    assert bar_runs("000") == []
