"""Tests for the catalog CSV parser and the shipped catalog files."""

from __future__ import annotations

import pytest

from labdesk.catalog.csv_import import (
    CONTAINER_COLUMNS,
    TEST_COLUMNS,
    load_shipped_catalog,
    parse_containers,
    parse_tests,
)
from labdesk.domain import catalog
from labdesk.domain.catalog import Handling, SpecimenCategory, TemperatureClass
from labdesk.domain.errors import CatalogImportError

# ---------------------------------------------------------------- helpers

GOOD_CONTAINER = {
    "code": "LAV",
    "name": "Lavender K2EDTA 4 mL",
    "cap_colour": "lavender",
    "cap_hex": "#9B7FD1",
    "additive": "K2EDTA",
    "draw_rank": "50",
    "nominal_volume_ml": "4",
    "inversions": "8-10",
    "category": "blood",
}

GOOD_TEST = {
    "code": "K",
    "loinc": "2823-3",
    "name": "Potassium",
    "specimen_type": "plasma",
    "container_code": "LAV",
    "preferred_volume_ml": "1",
    "minimum_volume_ml": "0.5",
    "stability_ambient_h": "2",
    "stability_refrigerated_h": "72",
    "stability_frozen_h": "",
    "transport_temperature": "refrigerated",
    "routine_tat_min": "1440",
    "stat_tat_min": "60",
    "working_days": "false",
    "critical_low": "2.8",
    "critical_high": "6.2",
    "units": "mmol/L",
    "handling": "",
}

KNOWN = {"LAV", "LBLU"}


def _csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    lines = [",".join(columns)]
    lines += [",".join(row[name] for name in columns) for row in rows]
    return "\n".join(lines) + "\n"


def _containers(*overrides: dict[str, str]) -> str:
    rows = []
    for number, override in enumerate(overrides):
        row = {**GOOD_CONTAINER, "code": f"C{number}", **override}
        rows.append(row)
    return _csv(CONTAINER_COLUMNS, rows)


def _tests(*overrides: dict[str, str]) -> str:
    rows = []
    for number, override in enumerate(overrides):
        row = {**GOOD_TEST, "code": f"T{number}", **override}
        rows.append(row)
    return _csv(TEST_COLUMNS, rows)


def _where(exc: pytest.ExceptionInfo[CatalogImportError]) -> list[tuple[int, str]]:
    return [(p.row, p.field) for p in exc.value.problems]


# ---------------------------------------------------------------- shipped catalog

NAMED_LOINC = {
    "CBC": "57021-8",
    "CBCND": "58410-2",
    "BMP": "51990-0",
    "CMP": "24323-8",
    "LIPID": "24331-1",
    "A1C": "4548-4",
    "TSH": "3016-3",
    "FT4": "3024-7",
    "PTINR": "5902-2",
    "APTT": "3173-2",
    "BCX": "600-7",
    "GLUF": "2345-7",
    "K": "2823-3",
    "NA": "2951-2",
    "CA": "17861-6",
    "HGB": "718-7",
    "PLT": "777-3",
    "WBC": "6690-2",
    "UA": "24356-8",
    "UACUL": "630-4",
    "FERR": "2276-4",
    "B12": "2132-9",
    "VITD": "62292-8",
    "PSA": "2857-1",
    "MG": "19123-9",
    "HCG": "21198-7",
    "LIPASE": "3040-3",
    "CRP": "1988-5",
    "ESR": "30341-2",
    "LFT": "24325-3",
}

CRITICAL_LIMITS = {
    "GLUF": (46.0, 484.0, "mg/dL"),
    "K": (2.8, 6.2, "mmol/L"),
    "NA": (120.0, 158.0, "mmol/L"),
    "CA": (6.6, 12.9, "mg/dL"),
    "HGB": (6.6, 19.9, "g/dL"),
    "PLT": (37.0, 910.0, "10*3/uL"),
    "WBC": (2.0, 37.0, "10*3/uL"),
}


@pytest.fixture(scope="module")
def shipped() -> tuple[dict[str, catalog.ContainerType], dict[str, catalog.TestDefinition]]:
    containers, tests = load_shipped_catalog()
    return {c.code: c for c in containers}, {t.code: t for t in tests}


def test_shipped_catalog_has_the_named_tests_and_loinc_codes(
    shipped: tuple[dict[str, catalog.ContainerType], dict[str, catalog.TestDefinition]],
) -> None:
    _, tests = shipped
    assert len(tests) >= 25
    for code, loinc in NAMED_LOINC.items():
        assert tests[code].loinc == loinc, code
    assert {"UDS", "UDSDOT"} <= tests.keys()


def test_shipped_tests_name_known_containers(
    shipped: tuple[dict[str, catalog.ContainerType], dict[str, catalog.TestDefinition]],
) -> None:
    containers, tests = shipped
    assert {t.container_code for t in tests.values()} <= containers.keys()
    assert tests["PTINR"].container_code == "LBLU"
    assert tests["APTT"].container_code == "LBLU"
    assert tests["GLUF"].container_code == "GRAY"
    assert tests["HGB"].container_code == "LAV"
    assert tests["ESR"].container_code == "LAV"
    assert tests["BCX"].container_code == "BCX"
    assert tests["UACUL"].container_code == "URCS"
    assert tests["UA"].container_code in {"UAT", "URCUP"}
    assert tests["UDS"].container_code == "URCUP"
    assert tests["UDSDOT"].container_code in {"URCUP", "CCUP"}


def test_shipped_order_of_draw(
    shipped: tuple[dict[str, catalog.ContainerType], dict[str, catalog.TestDefinition]],
) -> None:
    containers, _ = shipped
    ranks = [containers[code].draw_rank for code in ("BCX", "LBLU", "SST", "PST", "LAV", "GRAY")]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == len(ranks)
    assert containers["RED"].draw_rank < containers["SST"].draw_rank
    assert containers["LAV"].draw_rank < containers["PINK"].draw_rank < containers["GRAY"].draw_rank
    blood = [c for c in containers.values() if c.category is SpecimenCategory.BLOOD]
    others = [c for c in containers.values() if c.category is not SpecimenCategory.BLOOD]
    assert max(c.draw_rank for c in blood) < min(c.draw_rank for c in others)
    assert containers["CCUP"].category is SpecimenCategory.URINE
    assert containers["LBLU"].inversions == "3-4"
    assert containers["SST"].inversions == "5"
    assert containers["LAV"].inversions == "8-10"


def test_shipped_handling_and_stability(
    shipped: tuple[dict[str, catalog.ContainerType], dict[str, catalog.TestDefinition]],
) -> None:
    _, tests = shipped
    pt = tests["PTINR"]
    assert pt.stability_ambient_h == 24
    assert pt.stability_refrigerated_h is None
    assert set(pt.handling_flags) == {Handling.DO_NOT_REFRIGERATE, Handling.FILL_CITRATE_90}
    aptt = tests["APTT"]
    assert aptt.stability_ambient_h == 4
    assert Handling.FILL_CITRATE_90 in aptt.handling_flags
    assert Handling.FASTING in tests["LIPID"].handling_flags
    assert Handling.STERILE in tests["BCX"].handling_flags
    assert Handling.STERILE in tests["UACUL"].handling_flags
    assert tests["UACUL"].stability_refrigerated_h == 48
    assert Handling.PROTECT_FROM_LIGHT in tests["VITD"].handling_flags
    dot = tests["UDSDOT"]
    assert Handling.CHAIN_OF_CUSTODY in dot.handling_flags
    assert dot.working_days is True
    assert dot.routine_tat_min == 2880
    assert Handling.CHAIN_OF_CUSTODY not in tests["UDS"].handling_flags
    for test in tests.values():
        assert test.stability_hours(test.transport_temperature) is not None, test.code


@pytest.mark.parametrize(("code", "limits"), CRITICAL_LIMITS.items())
def test_shipped_critical_limits(
    shipped: tuple[dict[str, catalog.ContainerType], dict[str, catalog.TestDefinition]],
    code: str,
    limits: tuple[float, float, str],
) -> None:
    test = shipped[1][code]
    assert (test.critical_low, test.critical_high, test.units) == limits


# ---------------------------------------------------------------- good input


_URINE = {"category": "urine", "draw_rank": "100", "inversions": "", "cap_hex": "#F5F5F5"}


def test_good_files_parse() -> None:
    containers = parse_containers(_containers({"code": "LAV"}, {"code": "URCUP", **_URINE}))
    assert [c.code for c in containers] == ["LAV", "URCUP"]
    assert containers[0].category is SpecimenCategory.BLOOD
    assert containers[0].nominal_volume_ml == 4.0
    assert containers[1].inversions == ""
    tests = parse_tests(_tests({}, {"stat_tat_min": "", "critical_low": ""}), KNOWN)
    first, second = tests
    assert first.transport_temperature is TemperatureClass.REFRIGERATED
    assert first.stability_frozen_h is None
    assert first.routine_tat_min == 1440
    assert first.stat_tat_min == 60
    assert second.stat_tat_min is None
    assert second.critical_low is None
    assert second.critical_high == 6.2


def test_bom_and_crlf_accepted() -> None:
    text = "\ufeff" + _tests({}, {}).replace("\n", "\r\n")
    assert [t.code for t in parse_tests(text, KNOWN)] == ["T0", "T1"]
    text = "\ufeff" + _containers({}).replace("\n", "\r\n")
    assert [c.code for c in parse_containers(text)] == ["C0"]


def test_header_only_gives_empty_list() -> None:
    assert parse_tests(",".join(TEST_COLUMNS) + "\n", KNOWN) == []


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("true", True), ("Yes", True), ("1", True), ("false", False), ("NO", False), ("0", False)],
)
def test_boolean_spellings(cell: str, expected: bool) -> None:
    assert parse_tests(_tests({"working_days": cell}), KNOWN)[0].working_days is expected


def test_handling_is_normalised() -> None:
    text = _tests(
        {
            "handling": " Fasting ; protect_from_light;fasting;",
            "stability_refrigerated_h": "",
            "transport_temperature": "ambient",
        }
    )
    test = parse_tests(text, KNOWN)[0]
    assert test.handling == "fasting;protect_from_light"
    assert test.handling_flags == (Handling.FASTING, Handling.PROTECT_FROM_LIGHT)


def test_quoted_comma_and_extra_empty_cells_accepted() -> None:
    header, row = _tests({"name": '"Potassium, plasma"'}).splitlines()
    text = f"{header},notes\n{row},,\n"
    assert parse_tests(text, KNOWN)[0].name == "Potassium, plasma"


def test_blank_lines_are_skipped_but_counted() -> None:
    lines = _tests({}, {"loinc": "bad"}).splitlines()
    lines.insert(1, "")
    with pytest.raises(CatalogImportError) as exc:
        parse_tests("\n".join(lines), KNOWN)
    assert _where(exc) == [(4, "loinc")]


# ---------------------------------------------------------------- bad rows: tests.csv


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"code": ""}, "code"),
        ({"name": ""}, "name"),
        ({"loinc": ""}, "loinc"),
        ({"loinc": "LOCAL1"}, "loinc"),
        ({"loinc": "12345678-9"}, "loinc"),
        ({"loinc": "2823-4"}, "loinc"),  # wrong check digit
        ({"specimen_type": ""}, "specimen_type"),
        ({"container_code": ""}, "container_code"),
        ({"container_code": "NOPE"}, "container_code"),
        ({"preferred_volume_ml": ""}, "preferred_volume_ml"),
        ({"preferred_volume_ml": "lots"}, "preferred_volume_ml"),
        ({"preferred_volume_ml": "-1"}, "preferred_volume_ml"),
        ({"minimum_volume_ml": "nan"}, "minimum_volume_ml"),
        ({"minimum_volume_ml": "2"}, "minimum_volume_ml"),
        ({"stability_ambient_h": "x"}, "stability_ambient_h"),
        ({"stability_frozen_h": "-5"}, "stability_frozen_h"),
        ({"transport_temperature": ""}, "transport_temperature"),
        ({"transport_temperature": "warm"}, "transport_temperature"),
        ({"stability_refrigerated_h": ""}, "transport_temperature"),
        ({"routine_tat_min": ""}, "routine_tat_min"),
        ({"routine_tat_min": "1.5"}, "routine_tat_min"),
        ({"stat_tat_min": "-60"}, "stat_tat_min"),
        ({"stat_tat_min": "2000"}, "stat_tat_min"),
        ({"working_days": "maybe"}, "working_days"),
        ({"critical_low": "low"}, "critical_low"),
        ({"critical_low": "7"}, "critical_high"),
        ({"critical_low": "6.2"}, "critical_high"),
        ({"units": ""}, "units"),
        ({"handling": "fasting;shaken"}, "handling"),
        ({"handling": "do_not_refrigerate"}, "stability_refrigerated_h"),
    ],
)
def test_bad_test_row_reports_row_and_field(override: dict[str, str], field: str) -> None:
    with pytest.raises(CatalogImportError) as exc:
        parse_tests(_tests({}, override, {}), KNOWN)
    assert _where(exc) == [(3, field)]
    assert exc.value.problems[0].why


def test_enum_problem_names_allowed_values() -> None:
    with pytest.raises(CatalogImportError) as exc:
        parse_tests(_tests({"transport_temperature": "warm"}), KNOWN)
    assert "ambient, refrigerated, frozen" in exc.value.problems[0].why


def test_duplicate_code_reported_on_second_occurrence() -> None:
    with pytest.raises(CatalogImportError) as exc:
        parse_tests(_tests({"code": "K"}, {"code": "NA"}, {"code": "k"}), KNOWN)
    assert _where(exc) == [(4, "code")]
    assert "row 2" in exc.value.problems[0].why


def test_several_bad_rows_all_reported_and_nothing_returned() -> None:
    text = _tests(
        {"loinc": "abc"},
        {},
        {"container_code": "NOPE", "units": ""},
        {"stat_tat_min": "9999"},
    )
    result: object = None
    with pytest.raises(CatalogImportError) as exc:
        result = parse_tests(text, KNOWN)
    assert result is None
    assert _where(exc) == [(2, "loinc"), (4, "container_code"), (4, "units"), (5, "stat_tat_min")]
    assert "4 bad row(s)" in str(exc.value)


def test_missing_test_columns_reported_on_row_1() -> None:
    columns = tuple(c for c in TEST_COLUMNS if c not in {"loinc", "handling"})
    text = _csv(columns, [GOOD_TEST])
    with pytest.raises(CatalogImportError) as exc:
        parse_tests(text, KNOWN)
    assert _where(exc) == [(1, "loinc"), (1, "handling")]


def test_empty_file_reported() -> None:
    with pytest.raises(CatalogImportError) as exc:
        parse_tests("", KNOWN)
    assert _where(exc) == [(1, "header")]


def test_too_many_cells_reported() -> None:
    text = _tests({}, {"handling": "fasting,sterile"})
    with pytest.raises(CatalogImportError) as exc:
        parse_tests(text, KNOWN)
    assert (3, "row") in _where(exc)


# ---------------------------------------------------------------- bad rows: containers.csv


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"code": ""}, "code"),
        ({"name": ""}, "name"),
        ({"cap_colour": ""}, "cap_colour"),
        ({"cap_hex": "purple"}, "cap_hex"),
        ({"cap_hex": ""}, "cap_hex"),
        ({"draw_rank": "first"}, "draw_rank"),
        ({"draw_rank": "-1"}, "draw_rank"),
        ({"draw_rank": "150"}, "draw_rank"),  # blood tube after urine
        ({"category": "urine"}, "draw_rank"),  # urine container among blood tubes
        ({"nominal_volume_ml": "four"}, "nominal_volume_ml"),
        ({"nominal_volume_ml": ""}, "nominal_volume_ml"),
        ({"category": "saliva"}, "category"),
        ({"category": ""}, "category"),
    ],
)
def test_bad_container_row_reports_row_and_field(override: dict[str, str], field: str) -> None:
    with pytest.raises(CatalogImportError) as exc:
        parse_containers(_containers({}, override))
    assert _where(exc) == [(3, field)]


def test_duplicate_container_code_and_missing_column() -> None:
    with pytest.raises(CatalogImportError) as exc:
        parse_containers(_containers({"code": "LAV"}, {}, {"code": "LAV"}))
    assert _where(exc) == [(4, "code")]
    columns = tuple(c for c in CONTAINER_COLUMNS if c != "category")
    with pytest.raises(CatalogImportError) as exc:
        parse_containers(_csv(columns, [GOOD_CONTAINER]))
    assert _where(exc) == [(1, "category")]
