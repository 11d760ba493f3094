"""Forensic (DOT-style) urine collection rules on the custody and control form."""

from __future__ import annotations

import dataclasses

import pytest

from labdesk.domain.forensic import (
    ForensicForm,
    check_forensic,
    custody_note,
    fahrenheit_to_celsius,
    normalise_ccf,
)

COMPLETE = ForensicForm(
    ccf_number="T1234567",
    temperature_c=34.0,
    minutes_to_temperature_read=3,
    bottle_a_ml=30,
    bottle_b_ml=15,
    bottles_sealed_and_dated=True,
    donor_initialled_seals=True,
    donor_id_checked=True,
)


def test_complete_form_passes() -> None:
    check = check_forensic(COMPLETE)
    assert check.complete
    assert check.temperature_in_range is True
    assert not check.needs_observed_recollection


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"ccf_number": ""}, "CCF) number"),
        ({"ccf_number": "12"}, "valid CCF"),
        ({"temperature_c": None}, "Temperature reading"),
        ({"minutes_to_temperature_read": None}, "Minutes from void"),
        ({"minutes_to_temperature_read": 5}, "within 4 minutes"),
        ({"bottle_a_ml": 29.5}, "Bottle A holds 29.5"),
        ({"bottle_b_ml": 14}, "Bottle B holds 14"),
        ({"bottle_a_ml": None}, "Bottle A volume"),
        ({"bottles_sealed_and_dated": False}, "sealed and dated"),
        ({"donor_initialled_seals": False}, "initialled"),
        ({"donor_id_checked": False}, "photo ID"),
        ({"observed": True}, "reason for the observed"),
    ],
)
def test_missing_items_block(change: dict[str, object], missing: str) -> None:
    check = check_forensic(dataclasses.replace(COMPLETE, **change))  # type: ignore[arg-type]
    assert not check.complete
    assert any(missing in item for item in check.missing), check.missing


def test_late_reading_accepted_with_a_remark() -> None:
    late = dataclasses.replace(COMPLETE, minutes_to_temperature_read=6, remarks="read late")
    assert check_forensic(late).complete


@pytest.mark.parametrize(
    ("temperature", "in_range"), [(32.0, True), (38.0, True), (31.9, False), (38.1, False)]
)
def test_temperature_range_is_inclusive(temperature: float, in_range: bool) -> None:
    form = dataclasses.replace(COMPLETE, temperature_c=temperature, remarks="noted")
    check = check_forensic(form)
    assert check.temperature_in_range is in_range
    assert check.needs_observed_recollection is (not in_range)
    assert check.complete


def test_out_of_range_needs_a_remark_but_no_recollection_when_already_observed() -> None:
    hot = dataclasses.replace(COMPLETE, temperature_c=39.0)
    assert any("out-of-range" in m for m in check_forensic(hot).missing)
    observed = dataclasses.replace(hot, observed=True, remarks="observed recollection")
    check = check_forensic(observed)
    assert check.complete
    assert not check.needs_observed_recollection


def test_helpers() -> None:
    assert fahrenheit_to_celsius(98.6) == 37.0
    assert fahrenheit_to_celsius(90) == 32.2
    assert normalise_ccf(" t 123 4567 ") == "T1234567"
    note = custody_note(COMPLETE, check_forensic(COMPLETE))
    assert note == "CCF T1234567; temp 34 °C in range; split A 30 mL / B 15 mL"
