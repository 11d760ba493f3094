"""Add-on rule (labdesk.domain.add_on) with fixed times: stability at each temperature,
volume boundaries, type and container mismatch, cancelled and resulted tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labdesk.domain.add_on import (
    CarriedTest,
    SpecimenFacts,
    decide_add_on,
    reserved_volume,
)
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.catalog import TestDefinition as Definition
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.specimen import SpecimenStatus

DRAWN = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
T = TemperatureClass


def definition(code: str = "TSH", **over: object) -> Definition:
    values: dict[str, object] = {
        "code": code,
        "loinc": "3016-3",
        "name": code,
        "specimen_type": "serum",
        "container_code": "SST",
        "preferred_volume_ml": 1.0,
        "minimum_volume_ml": 0.7,
        "stability_ambient_h": 2.0,
        "stability_refrigerated_h": 72.0,
        "stability_frozen_h": None,
        "transport_temperature": T.REFRIGERATED,
        "routine_tat_min": 1440,
        "stat_tat_min": None,
    }
    values.update(over)
    return Definition(**values)  # type: ignore[arg-type]


def facts(
    *carried: CarriedTest,
    temperature: TemperatureClass = T.REFRIGERATED,
    usable: float = 5.0,
    status: SpecimenStatus = SpecimenStatus.RECEIVED,
    container: str = "SST",
) -> SpecimenFacts:
    return SpecimenFacts(
        accession="2600000011",
        status=status,
        container_code=container,
        collected_at=DRAWN,
        temperature=temperature,
        usable_ml=usable,
        carried=carried
        or (
            CarriedTest(code="CMP", status=Status.RECEIVED, specimen_type="serum", reserved_ml=0.5),
        ),
    )


def carried(code: str, status: Status = Status.RECEIVED, ml: float = 0.5) -> CarriedTest:
    return CarriedTest(code=code, status=status, specimen_type="serum", reserved_ml=ml)


@pytest.mark.parametrize(
    ("temperature", "hours"),
    [(T.AMBIENT, 2.0), (T.REFRIGERATED, 72.0), (T.FROZEN, 720.0)],
)
def test_stability_boundary_at_each_temperature(
    temperature: TemperatureClass, hours: float
) -> None:
    test = definition(stability_frozen_h=720.0)
    limit = DRAWN + timedelta(hours=hours)
    just_before = decide_add_on(facts(temperature=temperature), test, limit - timedelta(seconds=1))
    at_limit = decide_add_on(facts(temperature=temperature), test, limit)
    later = decide_add_on(facts(temperature=temperature), test, limit + timedelta(hours=3))
    assert just_before.allowed
    assert just_before.stable_until == limit
    assert not at_limit.allowed
    assert at_limit.reasons == (
        f"stability expired 0 min ago (TSH keeps {hours:g} h {temperature.value})",
    )
    assert later.reasons == (
        f"stability expired 3 h ago (TSH keeps {hours:g} h {temperature.value})",
    )


def test_not_kept_at_that_temperature() -> None:
    decision = decide_add_on(facts(temperature=T.FROZEN), definition(), DRAWN + timedelta(hours=1))
    assert decision.reasons == ("TSH must not be kept frozen",)
    assert decision.stable_until is None


def test_stability_counts_from_the_original_collection_in_minutes() -> None:
    at = DRAWN + timedelta(hours=2, minutes=25)
    decision = decide_add_on(facts(temperature=T.AMBIENT), definition(), at)
    assert decision.reasons == ("stability expired 25 min ago (TSH keeps 2 h ambient)",)


def test_volume_boundaries() -> None:
    # 5 mL SST, reserved 0.5 + 3.8 = 4.3: 0.7 left is exactly enough.
    exact = facts(carried("CMP"), carried("LIPID", ml=3.8))
    assert decide_add_on(exact, definition(), DRAWN).allowed
    assert decide_add_on(exact, definition(), DRAWN).left_ml == pytest.approx(0.7)
    short = facts(carried("CMP"), carried("LIPID", ml=4.1))
    decision = decide_add_on(short, definition(), DRAWN)
    assert decision.reasons == ("not enough serum left: 0.4 of 0.7 mL",)
    assert (
        decision.summary
        == "TSH cannot be added to 2600000011: not enough serum left: 0.4 of 0.7 mL"
    )


def test_cancelled_tests_reserve_nothing_and_recorded_volume_counts() -> None:
    cancelled = facts(carried("CMP"), carried("LIPID", Status.CANCELLED, ml=4.1))
    assert decide_add_on(cancelled, definition(), DRAWN).allowed
    small = facts(carried("CMP"), usable=1.1)  # the MA recorded 1.1 mL drawn
    assert decide_add_on(small, definition(), DRAWN).reasons == (
        "not enough serum left: 0.6 of 0.7 mL",
    )


def test_reservation_is_the_catalog_minimum() -> None:
    assert reserved_volume(definition(minimum_volume_ml=0.2, preferred_volume_ml=0.5)) == 0.2


def test_type_and_container_mismatch_are_both_named() -> None:
    k = definition("K", specimen_type="plasma", container_code="PST")
    decision = decide_add_on(facts(), k, DRAWN)
    assert decision.reasons == (
        "K needs plasma; this specimen is serum",
        "K needs a PST container; this specimen is in SST",
    )


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (Status.FINAL, "TSH was already resulted on this specimen"),
        (Status.ACKNOWLEDGED, "TSH was already resulted on this specimen"),
        (Status.PRELIMINARY, "TSH was already resulted on this specimen"),
        (
            Status.CANCELLED,
            "TSH was cancelled on this specimen; order it again as a new collection",
        ),
        (Status.RECEIVED, "TSH is already on this specimen"),
    ],
)
def test_same_test_already_on_the_specimen(status: Status, reason: str) -> None:
    decision = decide_add_on(facts(carried("CMP"), carried("TSH", status)), definition(), DRAWN)
    assert decision.reasons == (reason,)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (SpecimenStatus.REJECTED, "the specimen was rejected by the lab"),
        (SpecimenStatus.LOST, "the specimen was reported lost"),
    ],
)
def test_rejected_or_lost_specimen_takes_no_add_on(status: SpecimenStatus, reason: str) -> None:
    assert decide_add_on(facts(status=status), definition(), DRAWN).reasons == (reason,)


def test_inactive_test_and_every_reason_listed() -> None:
    late = DRAWN + timedelta(hours=80)
    decision = decide_add_on(facts(carried("CMP", ml=4.8)), definition(active=False), late)
    assert decision.reasons == (
        "TSH is no longer offered by the lab",
        "stability expired 8 h ago (TSH keeps 72 h refrigerated)",
        "not enough serum left: 0.2 of 0.7 mL",
    )
