"""Label layout rules: zones, flags, quiet zones and what happens when content cannot fit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from labdesk.domain.errors import ValidationError
from labdesk.domain.printing import LabelContent
from printers.code128 import code128_modules
from printers.errors import LabelDoesNotFit
from printers.layout import LabelLayout, TextElement, group_accession, layout_label
from printers.presets import Preset, get_preset, preset_names

Factory = Callable[..., LabelContent]


def _texts(layout: LabelLayout) -> list[str]:
    return [t.text for t in layout.texts]


def _find(layout: LabelLayout, prefix: str) -> TextElement:
    return next(t for t in layout.texts if t.text.startswith(prefix))


@pytest.mark.parametrize("preset_name", preset_names())
def test_every_preset_lays_out_a_busy_label(make_content: Factory, preset_name: str) -> None:
    content = make_content(
        stat=True, reprint_count=3, aliquot="2", tests=("CBC", "BMP", "LIPID", "TSH", "HBA1C")
    )
    layout = layout_label(content, get_preset(preset_name))  # Runs the overlap check too.
    assert layout.width == get_preset(preset_name).width_dots


def test_patient_name_is_top_left_largest_and_bold(make_content: Factory) -> None:
    layout = layout_label(make_content(), get_preset("2x1-203"))
    name = _find(layout, "DOE, Jane")
    assert name.bold
    assert (name.x, name.y) == (min(t.x for t in layout.texts), min(t.y for t in layout.texts))
    assert name.height == max(t.height for t in layout.texts)


def test_identifiers_are_eye_readable(make_content: Factory) -> None:
    layout = layout_label(make_content(), get_preset("2x1-203"))
    texts = _texts(layout)
    assert "DOB 1984-03-05" in texts
    assert "MRN 00123456" in texts
    assert "26 0001234 9" in texts
    assert "Coll 2026-03-05 08:15 JD" in texts
    assert "CBC HBA1C" in texts
    assert "EDTA 3 mL Lavender" in texts
    assert "BLD" in texts


def test_barcode_data_is_the_bare_accession(make_content: Factory) -> None:
    layout = layout_label(make_content(accession=" 2600012349\n"), get_preset("2x1-203"))
    assert layout.barcode.data == "2600012349"
    assert layout.barcode.modules == code128_modules("2600012349")
    assert len(layout.barcode.modules) == 90  # Subset C: 5 symbol characters.


@pytest.mark.parametrize(("preset_name", "module"), [("2x1-203", 2), ("2x1-300", 3)])
def test_module_width_and_quiet_zones(make_content: Factory, preset_name: str, module: int) -> None:
    layout = layout_label(make_content(), get_preset(preset_name))
    bar = layout.barcode
    assert bar.module_width == module
    assert bar.x >= 10 * module
    beside = [t for t in layout.texts if t.y < bar.y + bar.height and t.y + t.height > bar.y]
    assert all(t.x >= bar.x + bar.width + 10 * module for t in beside)


def test_stat_flag_is_an_inverse_box(make_content: Factory) -> None:
    plain = layout_label(make_content(), get_preset("2x1-203"))
    stat = layout_label(make_content(stat=True), get_preset("2x1-203"))
    assert "STAT" not in _texts(plain)
    flag = _find(stat, "STAT")
    assert flag.inverse
    assert any(b.x <= flag.x and b.y <= flag.y for b in stat.boxes)


def test_reprint_mark_shows_the_count(make_content: Factory) -> None:
    assert not any(
        "REPRINT" in t for t in _texts(layout_label(make_content(), get_preset("2x1-203")))
    )
    layout = layout_label(make_content(reprint_count=2), get_preset("2x1-203"))
    mark = _find(layout, "REPRINT")
    assert mark.text == "REPRINT 2"
    assert mark.inverse


def test_aliquot_mark_is_kept_whole(make_content: Factory) -> None:
    content = make_content(specimen_type="Serum, separated, refrigerated", aliquot="3 of 4")
    layout = layout_label(content, get_preset("2x0.75-203"))
    line = next(t for t in _texts(layout) if "ALQ" in t)
    assert line.endswith("ALQ 3 of 4")


def test_long_name_keeps_the_family_name_first(make_content: Factory) -> None:
    content = make_content(family_name="Wolfeschlegelsteinhausenbergerdorff", given_name="Hubert")
    name = layout_label(content, get_preset("2x1-203")).texts[0].text
    assert "WOLFESCHLEGELSTEINHAUSENBERGERDORFF".startswith(name)


def test_long_tests_list_says_how_many_are_missing(make_content: Factory) -> None:
    tests = tuple(f"TEST{n}" for n in range(20))
    layout = layout_label(make_content(tests=tests), get_preset("2x0.75-203"))
    assert any(t.startswith("TEST0") and "+" in t for t in _texts(layout))


def test_barcode_wider_than_label_does_not_fit(make_content: Factory) -> None:
    content = make_content(accession="ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    with pytest.raises(LabelDoesNotFit, match="bar code"):
        layout_label(content, get_preset("2x1-203"))


def test_too_short_label_does_not_fit(make_content: Factory) -> None:
    short = dataclasses.replace(get_preset("2x1-203"), name="tiny", height_dots=120)
    with pytest.raises(LabelDoesNotFit):
        layout_label(make_content(), short)


def test_identifier_that_cannot_fit_raises(make_content: Factory) -> None:
    with pytest.raises(LabelDoesNotFit, match="MRN"):
        layout_label(make_content(mrn="9" * 40), get_preset("2x1-203"))


def test_non_ascii_accession_is_rejected(make_content: Factory) -> None:
    with pytest.raises(ValidationError):
        layout_label(make_content(accession="２６０００"), get_preset("2x1-203"))


def test_group_accession() -> None:
    assert group_accession("2600012349") == "26 0001234 9"
    assert group_accession("ABC") == "ABC"


def test_layout_is_pure(make_content: Factory) -> None:
    preset: Preset = get_preset("2x1-300")
    assert layout_label(make_content(), preset) == layout_label(make_content(), preset)
