"""Importing the timed-draw series file (labdesk.catalog.series): every bad row listed."""

from __future__ import annotations

from datetime import time

import pytest

from labdesk.catalog.csv_import import load_shipped_catalog
from labdesk.catalog.kinds import kind_for
from labdesk.catalog.series import SERIES_COLUMNS, parse_series, shipped_series_text
from labdesk.domain.errors import CatalogImportError
from labdesk.domain.series import Anchor

HEADER = ",".join(SERIES_COLUMNS)
KNOWN = {"GTT0", "GTT1H", "GTT2H", "CORTAM", "VANCOT", "GLUF"}
OGTT = [
    "OGTT75,OGTT 75 g,OGTT,1,FASTING,GTT0,first_draw,0,0,0,true",
    "OGTT75,OGTT 75 g,OGTT,2,1H,GTT1H,first_draw,60,5,5,true",
    "OGTT75,OGTT 75 g,OGTT,3,2H,GTT2H,first_draw,120,5,5,true",
]


def csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CatalogImportError) as caught:
        parse_series(text, KNOWN)
    return [(p.row, p.field, p.why) for p in caught.value.problems]


def test_the_shipped_series_are_valid_and_use_shipped_tests() -> None:
    _, tests = load_shipped_catalog()
    steps = parse_series(shipped_series_text(), {t.code for t in tests})
    by_code = {s.test_code: s for s in steps}
    assert [s.time_point for s in steps if s.series_code == "OGTT75"] == [
        "OGTT FASTING",
        "OGTT 1H",
        "OGTT 2H",
    ]
    assert by_code["CORTAM"].anchor is Anchor.CLOCK
    assert by_code["CORTAM"].clock_time == time(8, 0)
    assert by_code["VANCOT"].anchor is Anchor.DOSE
    assert by_code["VANCOT"].offset_min == -30
    loinc = {t.code: t.loinc for t in tests}
    # The 75 g challenge codes, not the dose-unspecified 20438-8 / 20436-2, nor 1520-6 (an
    # HL7 race code, not a LOINC glucose term): sources in docs/timed-draws.md.
    codes = ("GTT0", "GTT1H", "GTT2H", "CORTAM", "VANCOT")
    assert [loinc[c] for c in codes] == ["1558-6", "1507-3", "1518-0", "9813-7", "4092-3"]


def test_the_file_is_recognised_by_its_key_column() -> None:
    kind = kind_for(csv(*OGTT))
    assert kind is not None
    assert kind.name == "timed-draw series"


def test_a_good_file_parses() -> None:
    steps = parse_series(csv(*OGTT), KNOWN)
    assert [(s.step_no, s.offset_min, s.window_before_min) for s in steps] == [
        (1, 0, 0),
        (2, 60, 5),
        (3, 120, 5),
    ]


def test_unknown_test_code_names_what_to_do() -> None:
    found = problems(csv(OGTT[0], OGTT[1].replace("GTT1H", "NOPE")))
    assert found == [(3, "test_code", "unknown test code 'NOPE'; add it to the tests file first")]


def test_steps_out_of_order() -> None:
    found = problems(csv(OGTT[0], OGTT[2], OGTT[1]))
    assert found[0][:2] == (3, "step")
    assert "expected step 2" in found[0][2]


def test_overlapping_windows() -> None:
    wide = "OGTT75,OGTT 75 g,OGTT,3,2H,GTT2H,first_draw,120,60,5,true"
    found = problems(csv(OGTT[0], OGTT[1], wide))
    assert found[0][:2] == (4, "window_before_min")
    assert "overlaps step 2" in found[0][2]


def test_bad_offsets_every_one_listed() -> None:
    rows = [
        "OGTT75,OGTT 75 g,OGTT,1,FASTING,GTT0,first_draw,15,0,0,true",  # first must be 0
        "OGTT75,OGTT 75 g,OGTT,2,1H,GTT1H,first_draw,-5,5,5,true",  # negative
        "CORTAM,Cortisol,CORT,1,AM,CORTAM,clock,25:00,60,60,true",  # not a clock time
        "VANCOT,Vanco trough,VANC,1,TROUGH,VANCOT,dose,soon,30,30,true",  # not minutes
    ]
    found = {(row, field) for row, field, _ in problems(csv(*rows))}
    assert found == {(2, "offset"), (3, "offset"), (4, "offset"), (5, "offset")}


def test_offsets_must_grow_and_windows_have_width() -> None:
    rows = [
        OGTT[0],
        "OGTT75,OGTT 75 g,OGTT,2,1H,GTT1H,first_draw,60,0,0,true",
        "OGTT75,OGTT 75 g,OGTT,3,2H,GTT2H,first_draw,60,5,5,true",
    ]
    found = problems(csv(*rows))
    assert (3, "window_after_min") in {(r, f) for r, f, _ in found}
    assert any(r == 4 and f == "offset" and "must grow" in m for r, f, m in found)


def test_a_test_in_two_steps_and_inconsistent_names() -> None:
    rows = [
        OGTT[0],
        "OGTT75,Another name,OGTT,2,1H,GTT0,first_draw,60,5,5,true",
    ]
    found = {(r, f) for r, f, _ in problems(csv(*rows))}
    assert found == {(3, "test_code"), (3, "series_name")}


def test_bad_anchor_and_reason_flag() -> None:
    row = "CORTAM,Cortisol,CORT,1,AM,CORTAM,sunrise,08:00,60,60,maybe"
    found = {(r, f) for r, f, _ in problems(csv(row))}
    assert found == {(2, "anchor"), (2, "reason_required")}


def test_missing_column_refuses_the_header() -> None:
    text = HEADER.replace(",reason_required", "") + "\n" + OGTT[0].rsplit(",", 1)[0] + "\n"
    assert problems(text) == [(1, "reason_required", "column is missing from the header row")]
