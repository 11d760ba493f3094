"""Draw plan rules: consolidation, volumes, order of draw, urine apart, visible errors."""

from __future__ import annotations

import dataclasses

import pytest

from labdesk.catalog.csv_import import load_shipped_catalog
from labdesk.domain.catalog import Handling
from labdesk.domain.draw_plan import (
    DISCARD_NOTE_IF_WINGED,
    DISCARD_NOTE_WINGED,
    FASTING_NOTE,
    PlanRequest,
    build_draw_plan,
    may_share,
)

CONTAINERS_LIST, TESTS_LIST = load_shipped_catalog()
CONTAINERS = {c.code: c for c in CONTAINERS_LIST}
TESTS = {t.code: t for t in TESTS_LIST}


def plan_of(*codes: str, winged_set: bool = False, tests: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    requests = [PlanRequest(i, code) for i, code in enumerate(codes, start=1)]
    return build_draw_plan(requests, tests or TESTS, CONTAINERS, winged_set=winged_set)


def test_tests_sharing_container_and_handling_share_one_tube() -> None:
    plan = plan_of("CBC", "CMP", "TSH", "FT4")
    assert [(c.container_code, c.test_codes) for c in plan.containers] == [
        ("SST", ("CMP", "TSH", "FT4")),
        ("LAV", ("CBC",)),
    ]
    assert plan.problems == ()
    # 3 mL preferred each: CBC and A1C do not both fit one 4 mL lavender tube.
    assert [c.test_codes for c in plan_of("CBC", "A1C").containers] == [("CBC",), ("A1C",)]


def test_a_tube_holds_tests_up_to_its_nominal_volume() -> None:
    # SST holds 5 mL; six 1 mL chemistry tests need two tubes, the fewest possible.
    plan = plan_of("CMP", "LFT", "MG", "FERR", "B12", "PSA")
    sst = [c for c in plan.containers if c.container_code == "SST"]
    assert [len(c.tests) for c in sst] == [5, 1]
    assert all(c.preferred_volume_ml <= c.nominal_volume_ml for c in sst)
    # A 2.7 mL citrate tube takes one 2.7 mL coagulation test.
    coag = plan_of("PTINR", "APTT").blood
    assert [c.test_codes for c in coag] == [("PTINR",), ("APTT",)]


def test_first_fit_decreasing_packs_mixed_volumes_tightly() -> None:
    big = dataclasses.replace(TESTS["CMP"], code="BIG", preferred_volume_ml=3.0)
    tests = {**TESTS, "BIG": big}
    plan = plan_of("CMP", "CMP", "BIG", "TSH", "CMP", tests=tests)
    sst = [c for c in plan.containers if c.container_code == "SST"]
    assert len(sst) == 2
    assert sorted(c.preferred_volume_ml for c in sst) == [1.5, 5.0]


def test_tube_level_handling_splits_tubes_but_fasting_does_not() -> None:
    plan = plan_of("CMP", "VITD", "LIPID")
    sst = [c for c in plan.containers if c.container_code == "SST"]
    assert [c.test_codes for c in sst] == [("CMP", "LIPID"), ("VITD",)]
    assert Handling.PROTECT_FROM_LIGHT in sst[1].handling
    assert Handling.FASTING in sst[0].handling
    assert plan.fasting_required
    assert FASTING_NOTE in plan.notes
    # Asked by the compendium's preparation question instead: no second prompt.
    requests = [PlanRequest(i, c) for i, c in enumerate(("CMP", "LIPID"), start=1)]
    asked = build_draw_plan(requests, TESTS, CONTAINERS, fasting_note=False)
    assert asked.fasting_required
    assert FASTING_NOTE not in asked.notes


def test_sterile_and_chain_of_custody_tests_never_share() -> None:
    plan = plan_of("BCX", "BCX", "UACUL", "UACUL", "UDSDOT", "UDSDOT")
    codes = [c.container_code for c in plan.containers]
    assert codes == ["BCX", "BCX", "URCS", "URCS", "CCUP", "CCUP"]
    assert all(len(c.tests) == 1 for c in plan.containers)
    assert not may_share([TESTS["UACUL"], TESTS["UACUL"]])
    assert may_share([TESTS["CBC"], TESTS["A1C"]])


def test_blood_in_clsi_order_of_draw_and_urine_listed_apart() -> None:
    plan = plan_of("UA", "GLUF", "CBC", "K", "CMP", "PTINR", "BCX", "UDS")
    assert [c.container_code for c in plan.blood] == ["BCX", "LBLU", "SST", "PST", "LAV", "GRAY"]
    assert [c.container_code for c in plan.urine] == ["URCUP", "UAT"]
    assert [c.position for c in plan.containers] == list(range(1, 9))
    ranks = [c.draw_rank for c in plan.blood]
    assert ranks == sorted(ranks)


def test_container_facts_and_total_blood_volume() -> None:
    plan = plan_of("PTINR", "CBC", "CMP", "UA")
    citrate = plan.blood[0]
    assert citrate.cap_colour == "light blue"
    assert citrate.inversions == "3-4"
    assert citrate.is_citrate
    assert Handling.FILL_CITRATE_90 in citrate.handling
    assert Handling.DO_NOT_REFRIGERATE in citrate.handling
    assert citrate.minimum_volume_ml == 2.5
    assert plan.total_blood_volume_ml == pytest.approx(2.7 + 5 + 4)  # urine not counted
    assert "Fill citrate tube to at least 90 %" in citrate.handling_labels


def test_discard_tube_note_when_citrate_is_first() -> None:
    assert plan_of("PTINR", "CBC").notes == (DISCARD_NOTE_IF_WINGED,)
    assert plan_of("PTINR", winged_set=True).notes == (DISCARD_NOTE_WINGED,)
    # A culture before the citrate primes the tubing: no discard tube.
    assert plan_of("BCX", "PTINR", winged_set=True).notes == ()
    assert plan_of("CBC").notes == ()


def test_unknown_inactive_and_unmapped_tests_are_visible_errors() -> None:
    withdrawn = dataclasses.replace(TESTS["ESR"], active=False)
    unmapped = dataclasses.replace(TESTS["CBC"], code="ODD", container_code="NOPE")
    huge = dataclasses.replace(TESTS["CMP"], code="HUGE", minimum_volume_ml=9.0)
    tests = {**TESTS, "ESR": withdrawn, "ODD": unmapped, "HUGE": huge}
    plan = plan_of("CBC", "ZZZ", "ESR", "ODD", "HUGE", tests=tests)
    assert [c.test_codes for c in plan.containers] == [("CBC",)]
    problems = {p.test_code: p.message for p in plan.problems}
    assert set(problems) == {"ZZZ", "ESR", "ODD", "HUGE"}
    assert "not in the catalog" in problems["ZZZ"]
    assert "no longer offered" in problems["ESR"]
    assert "no container mapping" in problems["ODD"]
    assert "holds 5 mL" in problems["HUGE"]
    assert all(p.hint for p in plan.problems)
    assert not plan.is_empty


def test_empty_plan() -> None:
    plan = plan_of()
    assert plan.is_empty
    assert plan.total_blood_volume_ml == 0
    assert not plan.discard_tube_advised


def test_stat_marks_the_container() -> None:
    requests = [PlanRequest(1, "CMP"), PlanRequest(2, "TSH", stat=True)]
    plan = build_draw_plan(requests, TESTS, CONTAINERS)
    assert plan.containers[0].stat
