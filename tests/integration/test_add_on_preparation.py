"""Issue 13 items 1 and 4 together: an add-on must meet its own preparation rule.

Nobody can ask a tube "had you fasted?": a fasting test joins a specimen only when a met
fasting answer on that specimen proves at least its own hours (judged by the rule of the
test it was asked for), and the proving answer goes to the lab with the added test (AOE
OBX). A first-morning-urine test needs a met first-morning answer; a drug level needs its
own last-dose time, which is never on a tube drawn for something else. SQLite and
PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from station_world import StationWorld, add_order, build_station_world

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.preparation import PreparationAnswers, PreparationRule
from labdesk.hl7.parse import get, parse_message
from labdesk.station.add_on import AddOnRefused, AddOnResult, add_test_to_specimen, preview_add_on
from labdesk.station.at_chair import AtChair
from labdesk.station.collect import collect
from labdesk.station.dto import CollectResult, ContainerCollection
from labdesk.station.encounter import confirm_identity, load_encounter, open_encounter

DR = "Dr. Sam Patel"
BORN = {"ana": date(1984, 3, 5), "ben": date(1972, 11, 20)}


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> StationWorld:
    world = build_station_world(uow_factory, clock)
    with uow_factory() as uow:  # the lab's compendium: a BMP drawn fasting 10 h (synthetic)
        rules = dict(uow.preparation.rules_for(["LIPID", "GLUF", "GTT0"]))
        rules["BMP"] = PreparationRule("BMP", fasting_hours=10)
        uow.preparation.replace_rules(rules.values())
        uow.commit()
    return world


def _drawn(
    uows: UnitOfWorkFactory,
    clock: FixedClock,
    world: StationWorld,
    who: str,
    codes: tuple[str, ...],
    answers: PreparationAnswers,
) -> CollectResult:
    add_order(uows, clock, world.patients[who], codes)
    with uows() as uow:
        eid = open_encounter(uow, clock, world.ma, world.patients[who], world.station_code)
    with uows() as uow:
        confirm_identity(uow, clock, world.ma, eid, birth_date=BORN[who], name_confirmed=True)
    with uows() as uow:
        plan = load_encounter(uow, world.ma, eid).plan
    containers = [
        ContainerCollection(c.container_code, c.ordered_test_ids) for c in plan.containers
    ]
    with uows() as uow:
        return collect(uow, clock, world.ma, eid, containers, at_chair=AtChair(preparation=answers))


def _sst(result: CollectResult) -> str:
    return next(s.accession for s in result.specimens if s.container_code == "SST")


def _add(
    uows: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, acc: str, code: str
) -> AddOnResult:
    with uows() as uow:
        result = add_test_to_specimen(uow, clock, world.ma, acc, code, requested_by=DR)
        uow.commit()
        return result


def _aoe_of(uows: UnitOfWorkFactory, outbound_id: int) -> list[tuple[str, str]]:
    with uows() as uow:
        message = uow.hl7.outbound(outbound_id)
        assert message is not None
        payload = message.payload
    return [(get(s, 3), get(s, 5)) for s in parse_message(payload).segments("OBX")]


def test_a_fasting_add_on_is_proven_by_a_longer_met_fast_and_sent_to_the_lab(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    fasted_13h = PreparationAnswers(last_meal_at=clock.now() - timedelta(hours=13))
    result = _drawn(uow_factory, clock, world, "ana", ("LIPID", "CMP"), fasted_13h)
    accession = _sst(result)
    clock.advance(timedelta(minutes=20))

    with uow_factory() as uow:
        preview = preview_add_on(uow, clock, world.ma, accession, "BMP")
    assert preview.allowed, preview.reasons  # the lipid's met 12 h proves the BMP's 10 h
    added = _add(uow_factory, clock, world, accession, "BMP")

    with uow_factory() as uow:
        (answer,) = uow.preparation.answers_for_tests([added.ordered_test_id])
        assert answer.met
        assert answer.kind == "fasting"
        assert "13 h 00 min before" in answer.answer  # what the patient said at the draw
        assert answer.specimen_id == added.specimen_id
    assert added.outbound_id is not None
    aoe = dict(_aoe_of(uow_factory, added.outbound_id))
    assert "13 h 00 min before" in aoe["PREP-FASTING"]


def test_a_fasting_add_on_on_a_tube_nobody_confirmed_fasting_for_is_refused(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    # Fasted 11 h and collected anyway: the lipid (12 h) was NOT met, so the tube proves nothing.
    eleven = PreparationAnswers(
        last_meal_at=clock.now() - timedelta(hours=11), comment="lipids non-fasting, Dr Patel"
    )
    accession = _sst(_drawn(uow_factory, clock, world, "ana", ("LIPID", "CMP"), eleven))
    with uow_factory() as uow:
        preview = preview_add_on(uow, clock, world.ma, accession, "BMP")
    assert not preview.allowed
    assert preview.reasons == (
        "BMP needs 10 h fasting and no fasting was confirmed when it was drawn",
    )
    with pytest.raises(AddOnRefused) as refused:
        _add(uow_factory, clock, world, accession, "BMP")
    assert "no fasting was confirmed" in str(refused.value)
    with uow_factory() as uow:  # nothing half-done
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        assert specimen.id is not None
        codes = {t.test_code for t in uow.orders.tests_for_specimen(specimen.id)}
    assert codes == {"LIPID", "CMP"}


def test_a_shorter_met_fast_does_not_prove_a_longer_one(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    # Met for the BMP's 10 h (the patient said 11 h); a lipid panel needs 12 h.
    eleven = PreparationAnswers(last_meal_at=clock.now() - timedelta(hours=11))
    accession = _sst(_drawn(uow_factory, clock, world, "ben", ("BMP",), eleven))
    with uow_factory() as uow:
        preview = preview_add_on(uow, clock, world.ma, accession, "LIPID")
    assert preview.reasons == ("LIPID needs 12 h fasting; the draw confirmed only 10 h",)
    # A test without a preparation rule is still added as before.
    with uow_factory() as uow:
        assert preview_add_on(uow, clock, world.ma, accession, "CMP").allowed


def test_the_rule_is_checked_when_the_add_on_is_made_not_only_in_the_preview(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    accession = _sst(_drawn(uow_factory, clock, world, "ben", ("CMP",), PreparationAnswers()))
    with pytest.raises(AddOnRefused) as refused:
        _add(uow_factory, clock, world, accession, "LIPID")
    assert refused.value.reasons == (
        "LIPID needs 12 h fasting and no fasting was confirmed when it was drawn",
    )
