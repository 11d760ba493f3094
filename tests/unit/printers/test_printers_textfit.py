"""Text width estimates and the patient-name truncation rule."""

from __future__ import annotations

import pytest

from printers.textfit import (
    clean_text,
    estimate_width,
    fit_list,
    fit_patient_name,
    truncate,
    wrap_list,
)


def test_clean_text_drops_controls_and_collapses_space() -> None:
    assert clean_text(" Jane\t\r\nMarie\x00 ") == "Jane Marie"


def test_clean_text_composes_accents() -> None:
    assert clean_text("Jose\u0301") == "José"


def test_wide_characters_are_wider_than_latin() -> None:
    assert estimate_width("山田", 20) > estimate_width("ab", 20)


def test_combining_marks_take_no_width() -> None:
    assert estimate_width("e\u0301", 20) == estimate_width("e", 20)


@pytest.mark.parametrize(
    "expected",
    [
        pytest.param("MÜLLER-LÜDENSCHEIDT, Hans-Jürgen", id="full"),
        pytest.param("MÜLLER-LÜDENSCHEIDT, H.", id="given-initial"),
        pytest.param("MÜLLER-LÜDENSCHEIDT", id="given-dropped"),
        pytest.param("MÜLLER-LÜD", id="family-cut-without-ellipsis"),
    ],
)
def test_patient_name_rule_never_drops_the_family_name(expected: str) -> None:
    # Exactly the room `expected` needs: every longer candidate must be rejected first.
    width = estimate_width(expected, 20, bold=True)
    assert fit_patient_name("Müller-Lüdenscheidt", "Hans-Jürgen", 20, width) == expected


def test_patient_name_cut_has_no_ellipsis() -> None:
    name = fit_patient_name("Wolfeschlegelsteinhausenbergerdorff", "Hubert", 28, 200)
    assert "WOLFESCHLEGELSTEINHAUSENBERGERDORFF".startswith(name)
    assert not name.endswith(("…", "..."))


def test_mononymous_patient_shows_given_name() -> None:
    assert fit_patient_name("", "Madonna", 20, 500) == "Madonna"


def test_truncate_keeps_combining_marks_with_their_letter() -> None:
    text = "e\u0301" * 30
    cut = truncate(text, 20, 100)
    assert not cut.endswith("e")
    assert len(cut) % 2 == 0


def test_fit_list_counts_what_was_left_out() -> None:
    tests = ("CBC", "BMP", "LIPID", "TSH", "HBA1C")
    assert fit_list(tests, 18, 1000) == "CBC BMP LIPID TSH HBA1C"
    short = fit_list(tests, 18, 120)
    assert short.endswith(("+2", "+3", "+4"))
    assert short.startswith("CBC")


def test_wrap_list_fills_lines_in_order() -> None:
    tests = ("CBC", "HBA1C", "BMP", "LIPID", "TSH")
    lines = wrap_list(tests, 18, 176, 2, bold=True)
    assert len(lines) == 2
    assert " ".join(lines) == "CBC HBA1C BMP LIPID TSH"
