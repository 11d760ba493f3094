"""Preparation, blood volume, collector and observer on both backends (issue 13 items 4-6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from station_world import StationWorld, add_order, build_station_world

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import import_catalog_file
from labdesk.domain.catalog import Handling
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import CatalogImportError, ValidationError
from labdesk.domain.forensic import ForensicForm
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import OverduePolicy
from labdesk.domain.patient import Sex
from labdesk.domain.people import Role
from labdesk.domain.preparation import PreparationAnswers, PreparationKind
from labdesk.hl7.parse import get, parse_message
from labdesk.kernel.messagebus import MessageBus
from labdesk.results.acknowledge import result_detail
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import StaffSpec
from labdesk.station.add_on import AddOnRefused, add_test_to_specimen, preview_add_on
from labdesk.station.at_chair import AtChair
from labdesk.station.blood_volume import (
    Prioritisation,
    pediatric_plan,
    record_weight,
    volume_check,
)
from labdesk.station.collect import CollectionRefused, collect
from labdesk.station.commands import CollectSpecimens, RecordPatientWeight, RescheduleTests
from labdesk.station.dto import ContainerCollection, EncounterView
from labdesk.station.encounter import confirm_identity, load_encounter, open_encounter
from labdesk.station.forensic import collect_observed_recollection
from labdesk.station.preparation import plan_requirements

CHILD_BORN = date(2019, 6, 1)


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> StationWorld:
    world = build_station_world(uow_factory, clock)
    with uow_factory() as uow:
        build = ClinicBuilder(uow, clock)
        child = build.patient(
            SyntheticPerson.named("M200009", "Okafor", "Tobi", CHILD_BORN, Sex.UNKNOWN),
            wristband="WB-M200009",
        )
        assert child.id is not None
        world.patients["tobi"] = child.id
        second = build.user(StaffSpec("st-ma-2", "Second Assistant", Role.MEDICAL_ASSISTANT))
        second.badge_id = "BADGE-MA-2"
        world.users[Role.ADMIN] = build.actor(second)  # the collector by badge (an MA)
        courier = uow.people.user(world.users[Role.COURIER].id)
        assert courier is not None
        courier.badge_id = "BADGE-CO-1"
        uow.commit()
    return world


def _visit(uows: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, who: str) -> int:
    born = CHILD_BORN if who == "tobi" else date(1984, 3, 5)
    with uows() as uow:
        eid = open_encounter(uow, clock, world.ma, world.patients[who], world.station_code)
    with uows() as uow:
        confirm_identity(uow, clock, world.ma, eid, birth_date=born, name_confirmed=True)
    return eid


def _view(uows: UnitOfWorkFactory, world: StationWorld, eid: int) -> EncounterView:
    with uows() as uow:
        return load_encounter(uow, world.ma, eid)


def _all(view: EncounterView) -> list[ContainerCollection]:
    return [ContainerCollection(c.container_code, c.ordered_test_ids) for c in view.plan.containers]


def _decoded_obx(uows: UnitOfWorkFactory) -> list[tuple[str, str, str, str, str]]:
    """Each outbound OBX decoded by the HL7 parser: value type, code, coding system,
    value (unescaped) and OBX-11 result status."""
    with uows() as uow:
        ids = uow.hl7.due_outbound(datetime(2100, 1, 1, tzinfo=UTC), 10)
        payloads = [m.payload for m in (uow.hl7.outbound(i) for i in ids) if m is not None]
    return [
        (get(seg, 2), get(seg, 3), get(seg, 3, comp=3), get(seg, 5), get(seg, 11))
        for payload in payloads
        for seg in parse_message(payload).segments("OBX")
    ]


def _outbound(uows: UnitOfWorkFactory) -> list[list[str]]:
    """The segments of every queued outbound message."""
    with uows() as uow:
        ids = uow.hl7.due_outbound(datetime(2100, 1, 1, tzinfo=UTC), 10)
        payloads = [m.payload for m in (uow.hl7.outbound(i) for i in ids) if m is not None]
    for payload in payloads:
        parse_message(payload)  # well-formed HL7
    return [payload.rstrip("\r").split("\r") for payload in payloads]


# ---------------------------------------------------------------- preparation


def test_shipped_rules_ask_exactly_what_the_plan_needs(
    uow_factory: UnitOfWorkFactory, world: StationWorld
) -> None:
    with uow_factory() as uow:
        needed = plan_requirements(uow, ["GLUF", "CBC", "UACUL"])
        assert plan_requirements(uow, ["CBC", "K"]) == ()
    assert [r.kind for r in needed] == [
        PreparationKind.FASTING,
        PreparationKind.FIRST_MORNING_URINE,
    ]
    assert needed[0].hours == 8
    assert needed[0].test_codes == ("GLUF",)


def test_every_test_flagged_fasting_has_a_fasting_rule(
    uow_factory: UnitOfWorkFactory, world: StationWorld
) -> None:
    with uow_factory() as uow:
        flagged = [t.code for t in uow.catalog.tests() if Handling.FASTING in t.handling_flags]
        rules = uow.preparation.rules_for(flagged)
    assert "LIPID" in flagged
    assert {code: rules[code].fasting_hours for code in flagged} == {"LIPID": 12, "GTT0": 8}


def test_lipid_fasting_is_asked_once_and_answers_the_collection_flag(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("LIPID", "GLUF"))
    eid = _visit(uow_factory, clock, world, "ana")
    containers = _all(_view(uow_factory, world, eid))
    with uow_factory() as uow:
        (fasting,) = plan_requirements(uow, ["LIPID", "GLUF"])
    assert (fasting.kind, fasting.hours, fasting.test_codes) == (
        PreparationKind.FASTING,
        12,
        ("GLUF", "LIPID"),
    )
    with uow_factory() as uow, pytest.raises(CollectionRefused) as info:
        collect(uow, clock, world.ma, eid, containers)
    assert sum("When did the patient last eat" in p for p in info.value.problems) == 1
    assert not any("whether the patient fasted" in p for p in info.value.problems)
    # 10 h: enough for the glucose (8 h), not for the lipid panel (12 h).
    ten = PreparationAnswers(
        last_meal_at=clock.now() - timedelta(hours=10), comment="lipids non-fasting: Dr. Patel"
    )
    with uow_factory() as uow:
        result = collect(uow, clock, world.ma, eid, containers, at_chair=AtChair(preparation=ten))
    with uow_factory() as uow:
        flags = {
            next(s.container_code for s in result.specimens if s.id == d.specimen_id): d.fasting
            for d in uow.station.details(eid)
        }
    assert flags == {"SST": False, "GRAY": True}
    with uow_factory() as uow:  # each test's answer is judged by its own rule
        answers = {
            s.container_code: uow.preparation.answers_for_specimen(s.id) for s in result.specimens
        }
    ((gray,), (sst,)) = answers["GRAY"], answers["SST"]
    assert (gray.met, gray.comment) == (True, "")
    assert (sst.met, sst.comment) == (False, "lipids non-fasting: Dr. Patel")
    assert "10 h 00 min before" in gray.answer


def test_answers_are_stored_on_the_specimen_and_sent_as_aoe_obx(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("GLUF", "CBC"))
    eid = _visit(uow_factory, clock, world, "ana")
    containers = _all(_view(uow_factory, world, eid))
    with uow_factory() as uow, pytest.raises(CollectionRefused) as info:
        collect(uow, clock, world.ma, eid, containers)
    assert any("When did the patient last eat" in p for p in info.value.problems)
    short = PreparationAnswers(last_meal_at=clock.now() - timedelta(hours=7, minutes=59))
    with uow_factory() as uow, pytest.raises(CollectionRefused) as info:
        collect(uow, clock, world.ma, eid, containers, at_chair=AtChair(preparation=short))
    assert any("give a comment to collect anyway" in p for p in info.value.problems)
    with uow_factory() as uow:
        assert uow.preparation.answers_for_tests(range(1, 100)) == []  # nothing half-done
        assert not uow.station.specimens(eid)

    anyway = PreparationAnswers(
        last_meal_at=short.last_meal_at, comment="coffee with milk at 06:01; Dr. Patel: draw"
    )
    with uow_factory() as uow:
        result = collect(
            uow, clock, world.ma, eid, containers, at_chair=AtChair(preparation=anyway)
        )
    gray = next(s for s in result.specimens if s.container_code == "GRAY")
    lav = next(s for s in result.specimens if s.container_code == "LAV")
    with uow_factory() as uow:
        (answer,) = uow.preparation.answers_for_specimen(gray.id)
        assert uow.preparation.answers_for_specimen(lav.id) == []
    assert answer.kind == "fasting"
    assert not answer.met
    assert "7 h 59 min before" in answer.answer
    assert answer.comment.startswith("coffee with milk")

    (segments,) = _outbound(uow_factory)
    ids = [s.split("|")[0] for s in segments]
    gluf_obr = next(i for i, s in enumerate(segments) if s.startswith("OBR|") and "GLUF" in s)
    after = segments[gluf_obr + 1 : gluf_obr + 3]
    assert after[0].startswith("NTE|1|L|Preparation not met, collected anyway: coffee")
    assert after[1].startswith("OBX|1|ST|PREP-FASTING^When did the patient last eat")
    assert after[1].split("|")[11] == "O"
    assert "NOT MET" in after[1]
    assert ids.count("OBX") == 1  # the CBC asks nothing
    ((kind, code, system, value, status),) = _decoded_obx(uow_factory)
    assert (kind, code, system, status) == ("ST", "PREP-FASTING", "L", "O")
    meal = short.last_meal_at
    assert meal is not None
    assert value == f"last ate {meal.isoformat(timespec='minutes')} (7 h 59 min before); NOT MET"


def test_met_preparation_needs_no_comment(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("GLUF",))
    eid = _visit(uow_factory, clock, world, "ana")
    fasted = PreparationAnswers(last_meal_at=clock.now() - timedelta(hours=8))
    with uow_factory() as uow:
        result = collect(
            uow, clock, world.ma, eid, _all(_view(uow_factory, world, eid)),
            at_chair=AtChair(preparation=fasted),
        )  # fmt: skip
    with uow_factory() as uow:
        (answer,) = uow.preparation.answers_for_specimen(result.specimens[0].id)
    assert answer.met
    assert answer.comment == ""


def test_reschedule_keeps_the_order_pending_with_the_reason_on_the_board(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    (test_id,) = add_order(uow_factory, clock, world.patients["ana"], ("GLUF",))
    eid = _visit(uow_factory, clock, world, "ana")
    bus = MessageBus(uow_factory, clock)
    with pytest.raises(ValidationError, match="say why"):
        bus.handle(
            RescheduleTests(encounter_id=eid, ordered_test_ids=(test_id,), reason=""), world.ma
        )
    done = bus.handle(
        RescheduleTests(
            encounter_id=eid, ordered_test_ids=(test_id,), reason="not fasting, ate at 07:10"
        ),
        world.ma,
    )
    assert done == 1
    view = _view(uow_factory, world, eid)
    assert [r.status for r in view.orders] == [Status.ORDERED]
    assert test_id in view.missed_test_ids
    doctor = world.users[Role.CLINICIAN]
    with uow_factory() as uow:
        detail = result_detail(uow, clock, doctor, OverduePolicy(), test_id)
    assert detail.row.status is Status.ORDERED
    assert detail.pending_note.startswith("Rescheduled: not fasting, ate at 07:10 (at the chair")
    fasted = PreparationAnswers(last_meal_at=clock.now() - timedelta(hours=9))
    bus.handle(
        CollectSpecimens(encounter_id=eid, containers=tuple(_all(view)), preparation=fasted),
        world.ma,
    )
    with pytest.raises(ValidationError, match="not waiting to be collected"):
        bus.handle(
            RescheduleTests(encounter_id=eid, ordered_test_ids=(test_id,), reason="again"),
            world.ma,
        )
    with uow_factory() as uow:
        detail = result_detail(uow, clock, doctor, OverduePolicy(), test_id)
    assert detail.pending_note == ""  # collected now


def test_trough_last_dose_is_the_timed_draws_dose_time_asked_once(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("VANCOT",))
    eid = _visit(uow_factory, clock, world, "ana")
    with uow_factory() as uow:
        assert plan_requirements(uow, ["VANCOT"]) == ()  # not asked at the plan step
    (red,) = _all(_view(uow_factory, world, eid))
    with uow_factory() as uow, pytest.raises(CollectionRefused) as info:
        collect(uow, clock, world.ma, eid, [red])
    (problem,) = info.value.problems
    assert "enter the time of the dose" in problem  # the series asks it, once
    dose = clock.now() + timedelta(minutes=30)  # the trough is due 30 min before the dose
    with uow_factory() as uow:
        result = collect(uow, clock, world.ma, eid, [replace(red, dose_at=dose)])
    with uow_factory() as uow:
        (answer,) = uow.preparation.answers_for_specimen(result.specimens[0].id)
    assert answer.kind == PreparationKind.LAST_DOSE.value
    assert answer.met
    assert answer.answer == f"dose the timed draw is based on: {dose.isoformat(timespec='minutes')}"
    (segments,) = _outbound(uow_factory)
    (obx,) = [s for s in segments if s.startswith("OBX|")]
    assert obx.startswith("OBX|1|ST|PREP-LAST_DOSE^")
    assert dose.isoformat(timespec="minutes") in obx


# ---------------------------------------------------------------- blood volume


def test_weight_is_recorded_with_who_and_bad_weights_refused(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    eid = _visit(uow_factory, clock, world, "tobi")
    bus = MessageBus(uow_factory, clock)
    for bad in (0, 500):
        with pytest.raises(ValidationError, match="not possible") as info:
            bus.handle(RecordPatientWeight(encounter_id=eid, weight_kg=bad), world.ma)
        assert "enter the weight in kg" in info.value.hint
    with uow_factory() as uow:
        assert (
            uow.preparation.latest_weight(world.patients["tobi"], clock.now() - timedelta(1))
            is None
        )
    assert bus.handle(RecordPatientWeight(encounter_id=eid, weight_kg=10), world.ma) == 10
    with uow_factory() as uow:
        weight = uow.preparation.latest_weight(world.patients["tobi"], clock.now() - timedelta(1))
    assert weight is not None
    assert weight.weight_kg == 10
    assert weight.recorded_by == world.ma.display_name


def test_child_over_the_24h_limit_is_offered_pediatric_tubes(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    # A 4 kg child (75 mL/kg: 300 mL TBV, 15 mL a day) drawn 4 mL earlier in the visit.
    add_order(uow_factory, clock, world.patients["tobi"], ("CBC",))
    eid = _visit(uow_factory, clock, world, "tobi")
    with uow_factory() as uow:
        record_weight(uow, clock, world.ma, eid, 4)
    (first,) = _all(_view(uow_factory, world, eid))
    with uow_factory() as uow:
        collect(uow, clock, world.ma, eid, [ContainerCollection("LAV", first.ordered_test_ids)])
    add_order(uow_factory, clock, world.patients["tobi"], ("CMP", "K", "CBC", "PTINR"))
    view = _view(uow_factory, world, eid)
    with uow_factory() as uow:
        check = volume_check(uow, clock, eid, view.plan)
    assert check.weight_kg == 4
    assert check.pediatric_available
    assert check.assessment is not None
    assert check.assessment.drawn_24h_ml == 4
    assert check.planned_ml == view.plan.total_blood_volume_ml == 2.7 + 5 + 4.5 + 4
    assert check.over
    assert check.assessment.excess_24h_ml == round(4 + 16.2 - 15, 2)
    with uow_factory() as uow, pytest.raises(CollectionRefused) as info:
        collect(uow, clock, world.ma, eid, _all(view))
    assert any(
        "over the patient's limit" in p and "pediatric tubes" in p for p in info.value.problems
    )

    with uow_factory() as uow:
        small = pediatric_plan(uow, view.plan)
        small_check = volume_check(uow, clock, eid, small)
    assert [c.container_code for c in small.blood] == ["LBLUP", "SSTM", "PSTM", "LAVM"]
    assert not small_check.over
    with uow_factory() as uow:
        result = collect(uow, clock, world.ma, eid, _all_of(small))
    assert sorted(s.container_code for s in result.specimens) == ["LAVM", "LBLUP", "PSTM", "SSTM"]


def test_a_pediatric_tube_reserves_its_own_volume_for_add_ons(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["tobi"], ("CMP",))
    eid = _visit(uow_factory, clock, world, "tobi")
    with uow_factory() as uow:
        small = pediatric_plan(uow, _view(uow_factory, world, eid).plan)
        result = collect(uow, clock, world.ma, eid, _all_of(small))
    (sstm,) = result.specimens
    assert sstm.container_code == "SSTM"  # a 0.6 mL microtainer; CMP needs 0.3 mL in it
    with uow_factory() as uow:
        (reserved,) = uow.add_ons.for_specimen(sstm.id).values()
        preview = preview_add_on(uow, clock, world.ma, sstm.accession, "NA")
    assert reserved.volume_ml == 0.3  # not the ordinary SST's 0.5 mL minimum
    assert preview.allowed, preview.reasons
    assert (preview.left_ml, preview.needed_ml) == (0.3, 0.2)
    with uow_factory() as uow:
        add_test_to_specimen(uow, clock, world.ma, sstm.accession, "NA", requested_by="Dr. Patel")
        uow.commit()
    with uow_factory() as uow, pytest.raises(AddOnRefused) as info:
        add_test_to_specimen(uow, clock, world.ma, sstm.accession, "CA", requested_by="Dr. Patel")
    assert info.value.reasons == ("not enough serum left: 0.1 of 0.2 mL",)


def test_the_last_30_days_of_draws_count_and_older_ones_do_not(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    # 4 kg: 300 mL TBV, 15 mL a day, 30 mL a month. Cultures (20 mL) drawn, prioritised.
    add_order(uow_factory, clock, world.patients["tobi"], ("BCX",))
    eid = _visit(uow_factory, clock, world, "tobi")
    with uow_factory() as uow:
        record_weight(uow, clock, world.ma, eid, 4)
    sepsis = AtChair(prioritisation=Prioritisation("Dr. Sam Patel", "suspected sepsis"))
    with uow_factory() as uow:
        collect(uow, clock, world.ma, eid, _all(_view(uow_factory, world, eid)), at_chair=sepsis)
    clock.advance(timedelta(days=2))  # the cultures are out of the 24 h window, not the month's
    add_order(uow_factory, clock, world.patients["tobi"], ("CMP", "K", "CBC", "PTINR"))
    later = _view(uow_factory, world, eid)
    with uow_factory() as uow:
        check = volume_check(uow, clock, eid, later.plan)
    a = check.assessment
    assert a is not None
    assert (a.drawn_24h_ml, a.drawn_30d_ml, a.planned_ml) == (0, 20, 16.2)
    assert (a.excess_24h_ml, a.excess_30d_ml, a.excess_ml) == (1.2, 6.2, 6.2)
    assert a.allowed_now_ml == 10
    assert "1.2 mL over the 24 h limit and 6.2 mL over the 30-day limit" in a.summary()
    clock.advance(timedelta(days=28, minutes=1))  # 30 days and a minute after the cultures
    with uow_factory() as uow:
        record_weight(uow, clock, world.ma, eid, 4)  # a month-old weight is asked again
        check = volume_check(uow, clock, eid, later.plan)
    assert check.assessment is not None
    assert check.assessment.drawn_30d_ml == 0


def _all_of(plan: object) -> list[ContainerCollection]:
    return [ContainerCollection(c.container_code, c.ordered_test_ids) for c in plan.containers]  # type: ignore[attr-defined]


def test_clinician_prioritisation_over_the_limit_is_recorded(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["tobi"], ("BCX", "CBC"))
    eid = _visit(uow_factory, clock, world, "tobi")
    with uow_factory() as uow:
        record_weight(uow, clock, world.ma, eid, 4)  # 15 mL / 24 h; BCX alone is 20 mL
    view = _view(uow_factory, world, eid)
    vague = AtChair(prioritisation=Prioritisation("", ""))
    with uow_factory() as uow, pytest.raises(CollectionRefused, match="clinician's name"):
        collect(uow, clock, world.ma, eid, _all(view), at_chair=vague)
    decided = AtChair(
        prioritisation=Prioritisation("Dr. Sam Patel", "suspected sepsis: cultures first")
    )
    with uow_factory() as uow:
        collect(uow, clock, world.ma, eid, _all(view), at_chair=decided)
    with uow_factory() as uow:
        (row,) = uow.preparation.prioritisations(eid)
    assert row.clinician == "Dr. Sam Patel"
    assert row.excess_ml == 24 - 15
    assert row.planned_ml == 24
    assert row.allowed_ml == 15


def test_adult_without_weight_is_not_limited(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("BCX", "CBC"))
    eid = _visit(uow_factory, clock, world, "ana")
    view = _view(uow_factory, world, eid)
    with uow_factory() as uow:
        check = volume_check(uow, clock, eid, view.plan)
        collect(uow, clock, world.ma, eid, _all(view))
    assert check.weight_kg is None
    assert check.assessment is None


# ---------------------------------------------------------------- collector and observer


def test_collector_by_badge_and_forensic_observer_are_recorded(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("CBC",))
    add_order(uow_factory, clock, world.patients["ana"], ("UDSDOT",))
    eid = _visit(uow_factory, clock, world, "ana")
    view = _view(uow_factory, world, eid)
    lav = view.plan.blood[0]
    cup = view.plan.urine[0]
    form = ForensicForm(
        ccf_number="T123 4567",
        temperature_c=34.5,
        minutes_to_temperature_read=2,
        bottle_a_ml=35,
        bottle_b_ml=20,
        bottles_sealed_and_dated=True,
        donor_initialled_seals=True,
        donor_id_checked=True,
        observed=True,
        remarks="directly observed: employer's policy for this donor",
    )
    containers = [
        ContainerCollection(lav.container_code, lav.ordered_test_ids),
        ContainerCollection(cup.container_code, cup.ordered_test_ids, forensic=form),
    ]
    for bad, words in (
        (AtChair(), "forensic \\(chain-of-custody\\) collection records who observed it"),
        (AtChair(collector_badge="NOPE"), "collector's badge is not registered"),
        (AtChair(collector_badge="BADGE-CO-1"), "may not collect"),
        (AtChair(observer_badge="NOPE"), "observer's badge is not registered"),
    ):
        with uow_factory() as uow, pytest.raises(CollectionRefused, match=words):
            collect(uow, clock, world.ma, eid, containers, at_chair=bad)
    with uow_factory() as uow, pytest.raises(CollectionRefused, match="only for a forensic"):
        collect(
            uow, clock, world.ma, eid, containers[:1], at_chair=AtChair(observer_badge="BADGE-CO-1")
        )
    phleb = world.users[Role.ADMIN]  # the second assistant (see the fixture)
    courier = world.users[Role.COURIER]
    bus = MessageBus(uow_factory, clock)
    result = bus.handle(
        CollectSpecimens(
            encounter_id=eid,
            containers=tuple(containers),
            collector_badge=" BADGE-MA-2 ",
            observer="BADGE-CO-1",
        ),
        world.ma,
    )
    by_code = {s.container_code: s.id for s in result.specimens}
    with uow_factory() as uow:
        blood = uow.preparation.witness(by_code["LAV"])
        urine = uow.preparation.witness(by_code["CCUP"])
        drawn_by = uow.specimens.get(by_code["LAV"])
        assert drawn_by is not None
        assert drawn_by.collected_by_id == phleb.id
    assert blood is not None
    assert (blood.recorded_by_id, blood.collector_id) == (
        world.ma.id,
        phleb.id,
    )
    assert blood.observer_id is None
    assert urine is not None
    assert urine.observer_id == courier.id
    assert "***" in repr(CollectSpecimens(encounter_id=1, containers=(), collector_badge="X"))


def test_observed_forensic_recollection_needs_the_observer(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("UDSDOT",))
    eid = _visit(uow_factory, clock, world, "ana")
    (cup,) = _all(_view(uow_factory, world, eid))
    hot = ForensicForm(
        ccf_number="T1112223", temperature_c=39.5, minutes_to_temperature_read=2,
        bottle_a_ml=35, bottle_b_ml=20, bottles_sealed_and_dated=True,
        donor_initialled_seals=True, donor_id_checked=True, remarks="39.5 C",
    )  # fmt: skip
    with uow_factory() as uow:
        first = collect(
            uow, clock, world.ma, eid, [replace(cup, forensic=hot)],
            at_chair=AtChair(observer_badge="BADGE-MA-2"),
        ).specimens[0]  # fmt: skip
    observed = replace(hot, ccf_number="T1112224", temperature_c=35.0, observed=True)
    with uow_factory() as uow, pytest.raises(CollectionRefused, match="observer's badge"):
        collect_observed_recollection(uow, clock, world.ma, eid, first.id, observed)
    with uow_factory() as uow:
        assert uow.station.forensic_of(first.id) is not None
        assert len(uow.station.specimens(eid)) == 1  # nothing half-done
    with uow_factory() as uow:
        again = collect_observed_recollection(
            uow, clock, world.ma, eid, first.id, observed, observer="BADGE-MA-2"
        )
    with uow_factory() as uow:
        witness = uow.preparation.witness(again.specimens[0].id)
    assert witness is not None
    assert witness.observer_id == world.users[Role.ADMIN].id


# ---------------------------------------------------------------- the compendium files


def test_catalog_import_refuses_bad_preparation_and_pediatric_rows(
    uow_factory: UnitOfWorkFactory, world: StationWorld, clock: FixedClock, tmp_path: Path
) -> None:
    bad = tmp_path / "prep.csv"
    bad.write_text(
        "test_code,fasting_hours,last_dose_hours,first_morning_urine,question,met_when\n"
        "CBC,,,,Nothing?,\n"
        "NOPE,8,,,Q,\n"
        "K,100,,,Q,\n"
        "GLUF,8,,true,Q,\n"
        "LIPID,10,,false,Last meal?,10 h\n",
        encoding="utf-8",
    )
    with uow_factory() as uow, pytest.raises(CatalogImportError) as info:
        import_catalog_file(uow, clock, None, bad)
    text = str(info.value)
    for words in (
        "asks nothing",
        "unknown test code 'NOPE'",
        "100 h is more than 72 h",
        "not a urine test",
    ):
        assert words in text
    with uow_factory() as uow:
        assert uow.preparation.rules_for(["LIPID"])["LIPID"].fasting_hours == 12  # shipped
    good = tmp_path / "prep2.csv"
    good.write_text(
        "test_code,fasting_hours,last_dose_hours,first_morning_urine,question,met_when\n"
        "LIPID,10,,false,Last meal?,10 h\n",
        encoding="utf-8",
    )
    with uow_factory() as uow:
        assert import_catalog_file(uow, clock, None, good) == 1
        uow.commit()
    with uow_factory() as uow:
        assert uow.preparation.rules_for(["LIPID"])["LIPID"].fasting_hours == 10
    tubes = tmp_path / "ped.csv"
    tubes.write_text(
        "test_code,pediatric_container_code,volume_ml\n"
        "CBC,SSTM,0.3\n"
        "K,PSTM,5\n"
        "TSH,NOPE,0.2\n"
        "UA,SSTM,0.2\n",
        encoding="utf-8",
    )
    with uow_factory() as uow, pytest.raises(CatalogImportError) as info:
        import_catalog_file(uow, clock, None, tubes)
    text = str(info.value)
    for words in (
        "pick a tube with the same additive",
        "more than PSTM holds",
        "unknown container code 'NOPE'",
    ):
        assert words in text
