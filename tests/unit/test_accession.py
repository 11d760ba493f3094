"""Accession IDs: layout, Damm check digit and the messages a scan error gives."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labdesk.domain.accession import (
    ACCESSION_LENGTH,
    MAX_SERIAL,
    SERIAL_DIGITS,
    damm_digit,
    is_valid_accession,
    make_accession,
    validate_accession,
)
from labdesk.domain.errors import InvalidAccession, ValidationError

years = st.integers(min_value=2000, max_value=2099)
serials = st.integers(min_value=1, max_value=MAX_SERIAL)


def _sample_ids() -> list[str]:
    """Edge serials plus a fixed pseudo-random spread across the range and the years."""
    rng = random.Random(20260302)
    edge = [1, 2, 9, 10, 99, 100, 1234567, MAX_SERIAL - 1, MAX_SERIAL]
    ids = [make_accession(year, s) for year in (2000, 2026, 2099) for s in edge]
    ids += [
        make_accession(rng.randint(2000, 2099), rng.randint(1, MAX_SERIAL)) for _ in range(3000)
    ]
    return ids


SAMPLE_IDS = _sample_ids()


def _substitutions(accession: str) -> list[str]:
    return [
        accession[:i] + d + accession[i + 1 :]
        for i in range(len(accession))
        for d in "0123456789"
        if d != accession[i]
    ]


def _adjacent_transpositions(accession: str) -> list[str]:
    return [
        accession[:i] + accession[i + 1] + accession[i] + accession[i + 2 :]
        for i in range(len(accession) - 1)
        if accession[i] != accession[i + 1]
    ]


# ---------------------------------------------------------------- layout


def test_layout_is_year_serial_check_digit() -> None:
    accession = make_accession(2026, 1)
    assert accession[:2] == "26"
    assert accession[2:9] == "0000001"
    assert damm_digit(accession[:9]) == int(accession[9])
    assert damm_digit(accession) == 0


def test_length_is_even_for_code128_subset_c() -> None:
    assert ACCESSION_LENGTH == 2 + SERIAL_DIGITS + 1 == 10
    assert ACCESSION_LENGTH % 2 == 0
    assert all(len(a) == ACCESSION_LENGTH and a.isdigit() for a in SAMPLE_IDS)


def test_damm_known_vectors() -> None:
    # Published example: 572 -> check digit 4.
    assert damm_digit("572") == 4
    assert damm_digit("5724") == 0
    assert damm_digit("") == 0


@pytest.mark.parametrize("serial", [0, -1, MAX_SERIAL + 1])
def test_serial_outside_range_is_refused(serial: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        make_accession(2026, serial)


@given(years, serials)
def test_made_ids_validate_and_round_trip(year: int, serial: int) -> None:
    accession = make_accession(year, serial)
    assert validate_accession(accession) == accession
    assert int(accession[2:9]) == serial
    assert int(accession[:2]) == year % 100


def test_ids_are_unique_per_serial() -> None:
    ids = {make_accession(2026, s) for s in range(1, 20001)}
    assert len(ids) == 20000


# ---------------------------------------------------------------- error detection


def test_every_single_digit_substitution_is_caught() -> None:
    checked = 0
    for accession in SAMPLE_IDS:
        for wrong in _substitutions(accession):
            assert damm_digit(wrong) != 0, (accession, wrong)
            assert not is_valid_accession(wrong)
            checked += 1
    assert checked == len(SAMPLE_IDS) * ACCESSION_LENGTH * 9


def test_every_adjacent_transposition_is_caught() -> None:
    checked = 0
    for accession in SAMPLE_IDS:
        for wrong in _adjacent_transpositions(accession):
            assert damm_digit(wrong) != 0, (accession, wrong)
            checked += 1
    assert checked > len(SAMPLE_IDS) * 5


def test_quasigroup_detects_all_errors_exhaustively_for_every_digit_pair() -> None:
    """The table property behind the two tests above, over every state and digit pair."""
    for interim in range(10):
        prefix = _prefix_reaching(interim)
        for a in "0123456789":
            for b in "0123456789":
                if a != b:
                    # Substitution a -> b from any state changes the state.
                    assert damm_digit(prefix + a) != damm_digit(prefix + b)
                    # Transposition ab -> ba from any state changes the state.
                    assert damm_digit(prefix + a + b) != damm_digit(prefix + b + a)


def _prefix_reaching(interim: int) -> str:
    """A digit string after which the Damm state is ``interim``."""
    for n in range(1000):
        text = str(n)
        if damm_digit(text) == interim:
            return text
    raise AssertionError(interim)


@given(years, serials, st.integers(0, ACCESSION_LENGTH - 1), st.integers(1, 9))
def test_property_substitution_is_caught(year: int, serial: int, pos: int, delta: int) -> None:
    accession = make_accession(year, serial)
    digit = str((int(accession[pos]) + delta) % 10)
    wrong = accession[:pos] + digit + accession[pos + 1 :]
    with pytest.raises(InvalidAccession, match="check digit"):
        validate_accession(wrong)


@given(years, serials, st.integers(0, ACCESSION_LENGTH - 2))
def test_property_adjacent_transposition_is_caught(year: int, serial: int, pos: int) -> None:
    accession = make_accession(year, serial)
    a, b = accession[pos], accession[pos + 1]
    wrong = accession[:pos] + b + a + accession[pos + 2 :]
    if a == b:
        assert wrong == accession
    else:
        assert not is_valid_accession(wrong)


# ---------------------------------------------------------------- messages


@pytest.mark.parametrize("raw", ["", "   ", "\r\n", "\t"])
def test_empty_scan(raw: str) -> None:
    with pytest.raises(InvalidAccession) as excinfo:
        validate_accession(raw)
    assert excinfo.value.message == "Empty scan."
    assert "Scan" in excinfo.value.hint


@pytest.mark.parametrize("raw", ["ABC1234567", "26-0000001", "MRN0001", "2600000O18", "２６００"])
def test_letters_or_other_barcodes(raw: str) -> None:
    with pytest.raises(InvalidAccession) as excinfo:
        validate_accession(raw)
    assert "is not a specimen accession ID" in excinfo.value.message
    assert "10 digits" in excinfo.value.message
    assert "barcode on the specimen label" in excinfo.value.hint


def test_non_ascii_digits_are_refused() -> None:
    arabic_indic = "٢٦٠٠٠٠٠٠١٨"
    assert arabic_indic.isdigit()
    with pytest.raises(InvalidAccession, match="not a specimen accession ID"):
        validate_accession(arabic_indic)


@pytest.mark.parametrize(("raw", "digits"), [("123", 3), ("260000001", 9), ("26000000188", 11)])
def test_wrong_length(raw: str, digits: int) -> None:
    with pytest.raises(InvalidAccession) as excinfo:
        validate_accession(raw)
    assert f"has {digits} digits; accession IDs have 10" in excinfo.value.message
    assert "type the number printed under the bars" in excinfo.value.hint


def test_bad_check_digit() -> None:
    good = make_accession(2026, 42)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    with pytest.raises(InvalidAccession) as excinfo:
        validate_accession(bad)
    assert (
        excinfo.value.message == f"'{bad}' fails its check digit: a digit was misread or mistyped."
    )
    assert excinfo.value.hint
    assert isinstance(excinfo.value, ValidationError)


def test_long_garbage_is_truncated_in_the_message() -> None:
    with pytest.raises(InvalidAccession) as excinfo:
        validate_accession("X" * 500)
    assert "X" * 21 not in excinfo.value.message


# ---------------------------------------------------------------- scanner input


@pytest.mark.parametrize("suffix", ["\r", "\n", "\r\n", "\t", " ", "\n\r"])
def test_scanner_suffixes_are_stripped(suffix: str) -> None:
    accession = make_accession(2026, 7)
    assert validate_accession(accession + suffix) == accession
    assert validate_accession(" " + accession + suffix) == accession
    assert is_valid_accession(accession + suffix)


@given(years, serials, st.text(alphabet=" \t\r\n", max_size=4))
def test_property_whitespace_around_a_scan_is_ignored(year: int, serial: int, pad: str) -> None:
    accession = make_accession(year, serial)
    assert validate_accession(pad + accession + pad) == accession
