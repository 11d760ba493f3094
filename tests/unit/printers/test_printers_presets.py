"""Label presets are data: shipped file, lookup and validation."""

from __future__ import annotations

import json

import pytest

from labdesk.domain.errors import LabdeskError
from printers.errors import PresetError
from printers.presets import get_preset, load_presets, parse_presets, preset_names


@pytest.mark.parametrize(
    ("name", "dpi", "width", "height", "module"),
    [
        ("2x1-203", 203, 406, 203, 2),
        ("2x1-300", 300, 600, 300, 3),
        ("2x0.75-203", 203, 406, 152, 2),
        ("2x0.75-300", 300, 600, 225, 3),
    ],
)
def test_label_presets_have_zebra_dot_sizes(
    name: str, dpi: int, width: int, height: int, module: int
) -> None:
    preset = get_preset(name)
    assert (preset.dpi, preset.width_dots, preset.height_dots) == (dpi, width, height)
    assert preset.module_dots == module
    assert preset.sheet is None


def test_sheet_preset_is_letter_with_30_labels() -> None:
    preset = get_preset("sheet-letter-30")
    assert preset.sheet is not None
    assert (preset.sheet.page_width_in, preset.sheet.page_height_in) == (8.5, 11.0)
    assert (preset.sheet.columns, preset.sheet.rows) == (3, 10)
    assert preset.sheet.labels_per_page == 30
    assert preset.width_in == pytest.approx(2.625, abs=0.01)
    assert preset.height_in == pytest.approx(1.0)


def test_all_presets_load_and_names_are_listed() -> None:
    assert set(preset_names()) == set(load_presets())
    assert {"2x1-203", "2x1-300", "2x0.75-203", "2x0.75-300", "sheet-letter-30"} <= set(
        preset_names()
    )


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(PresetError) as caught:
        get_preset("4x6-203")
    assert "4x6-203" in str(caught.value)
    for name in preset_names():
        assert name in str(caught.value)
    assert isinstance(caught.value, LabdeskError)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("not json", id="not-json"),
        pytest.param("[]", id="not-object"),
        pytest.param(json.dumps({"x": {"kind": "label"}}), id="missing-fields"),
        pytest.param(
            json.dumps(
                {
                    "x": {
                        "kind": "roll",
                        "description": "",
                        "dpi": 203,
                        "width_dots": 1,
                        "height_dots": 1,
                        "margin_dots": 0,
                        "module_dots": 1,
                    }
                }
            ),
            id="bad-kind",
        ),
        pytest.param(
            json.dumps(
                {
                    "x": {
                        "kind": "label",
                        "description": "",
                        "dpi": 0,
                        "width_dots": 1,
                        "height_dots": 1,
                        "margin_dots": 0,
                        "module_dots": 1,
                    }
                }
            ),
            id="zero-dpi",
        ),
    ],
)
def test_malformed_presets_raise_preset_error(text: str) -> None:
    with pytest.raises(PresetError):
        parse_presets(text)


def test_sheet_that_runs_off_the_page_is_rejected() -> None:
    raw = {
        "big": {
            "kind": "sheet",
            "description": "",
            "dpi": 300,
            "width_dots": 900,
            "height_dots": 300,
            "margin_dots": 15,
            "module_dots": 3,
            "sheet": {
                "page_width_in": 8.5,
                "page_height_in": 11,
                "columns": 3,
                "rows": 10,
                "left_margin_in": 0.1875,
                "top_margin_in": 0.5,
                "column_pitch_in": 2.75,
                "row_pitch_in": 1.0,
            },
        }
    }
    with pytest.raises(PresetError, match="run off the page"):
        parse_presets(json.dumps(raw))
