"""Forensic (DOT-style, 49 CFR Part 40) urine collection rules for the chain-of-custody form.

* Temperature read within 4 minutes of the void and in 32–38 °C (90–100 °F). Out of range:
  remark it and recollect at once under direct observation (the first specimen still goes
  to the lab).
* Every collection is split: bottle A at least 30 mL, bottle B at least 15 mL, from one
  void (never combine voids).
* The collector seals and dates the bottles; the donor initials the seals.
* The custody and control form (CCF) number ties the bottles to the form.

Anything missing blocks the collection from being saved, with a list saying what to fill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

TEMPERATURE_MIN_C = 32.0
TEMPERATURE_MAX_C = 38.0
TEMPERATURE_READ_MAX_MIN = 4.0
BOTTLE_A_MIN_ML = 30.0
BOTTLE_B_MIN_ML = 15.0
_CCF_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{4,19}")


class UrineMethod(StrEnum):
    """How a clinical urine specimen was collected."""

    CLEAN_CATCH = "clean_catch"
    CATHETER = "catheter"
    RANDOM = "random"

    @property
    def label(self) -> str:
        """Text shown to the medical assistant."""
        return {
            UrineMethod.CLEAN_CATCH: "Clean catch (midstream)",
            UrineMethod.CATHETER: "Catheter",
            UrineMethod.RANDOM: "Random void",
        }[self]


@dataclass(frozen=True)
class ForensicForm:
    """What the collector fills in for one forensic urine collection."""

    ccf_number: str = ""
    temperature_c: float | None = None
    minutes_to_temperature_read: float | None = None
    bottle_a_ml: float | None = None
    bottle_b_ml: float | None = None
    bottles_sealed_and_dated: bool = False
    donor_initialled_seals: bool = False
    donor_id_checked: bool = False
    observed: bool = False
    remarks: str = ""


@dataclass(frozen=True)
class ForensicCheck:
    """The verdict on a form: what is missing, and whether to recollect under observation."""

    missing: tuple[str, ...]
    temperature_in_range: bool | None
    needs_observed_recollection: bool

    @property
    def complete(self) -> bool:
        """True when nothing blocks saving the collection."""
        return not self.missing


def fahrenheit_to_celsius(value: float) -> float:
    """Convert a °F reading (DOT forms print 90–100 °F) to °C."""
    return round((value - 32.0) * 5.0 / 9.0, 1)


def normalise_ccf(text: str) -> str:
    """The CCF specimen ID as stored: upper case, no spaces."""
    return "".join(text.split()).upper()


def check_forensic(form: ForensicForm) -> ForensicCheck:
    """Validate a forensic collection form.

    Out-of-range temperature is not a missing item: the specimen is kept and sent, but a
    remark is required and an observed recollection must follow (unless this collection is
    already the observed one).
    """
    missing: list[str] = []
    ccf = normalise_ccf(form.ccf_number)
    if not ccf:
        missing.append("Custody and control form (CCF) number")
    elif not _CCF_RE.fullmatch(ccf):
        missing.append("A valid CCF number (5–20 letters or digits, as printed on the form)")
    in_range: bool | None = None
    if form.temperature_c is None:
        missing.append("Temperature reading")
    else:
        in_range = TEMPERATURE_MIN_C <= form.temperature_c <= TEMPERATURE_MAX_C
    if form.minutes_to_temperature_read is None:
        missing.append("Minutes from void to temperature reading")
    elif form.minutes_to_temperature_read < 0:
        missing.append("Minutes to the temperature reading cannot be negative")
    elif form.minutes_to_temperature_read > TEMPERATURE_READ_MAX_MIN and not form.remarks.strip():
        missing.append(
            f"A remark: the temperature must be read within {TEMPERATURE_READ_MAX_MIN:g} "
            "minutes of the void"
        )
    if in_range is False and not form.remarks.strip():
        missing.append("A remark on the out-of-range temperature")
    missing.extend(_volume_problems(form))
    if not form.bottles_sealed_and_dated:
        missing.append("Bottles A and B sealed and dated by the collector")
    if not form.donor_initialled_seals:
        missing.append("Seals initialled by the donor")
    if not form.donor_id_checked:
        missing.append("Donor photo ID checked")
    if form.observed and not form.remarks.strip():
        missing.append("A remark giving the reason for the observed collection")
    return ForensicCheck(
        missing=tuple(missing),
        temperature_in_range=in_range,
        needs_observed_recollection=in_range is False and not form.observed,
    )


def _volume_problems(form: ForensicForm) -> list[str]:
    problems = []
    if form.bottle_a_ml is None:
        problems.append("Bottle A volume")
    elif form.bottle_a_ml < BOTTLE_A_MIN_ML:
        problems.append(
            f"Bottle A holds {form.bottle_a_ml:g} mL; at least {BOTTLE_A_MIN_ML:g} mL is needed "
            "(never combine voids: follow the shy-bladder procedure)"
        )
    if form.bottle_b_ml is None:
        problems.append("Bottle B volume")
    elif form.bottle_b_ml < BOTTLE_B_MIN_ML:
        problems.append(
            f"Bottle B holds {form.bottle_b_ml:g} mL; at least {BOTTLE_B_MIN_ML:g} mL is needed"
        )
    return problems


def custody_note(form: ForensicForm, check: ForensicCheck) -> str:
    """The forensic facts written into the COLLECTED custody event's note."""
    temperature = "not read" if form.temperature_c is None else f"{form.temperature_c:g} °C"
    verdict = {True: "in range", False: "OUT OF RANGE", None: ""}[check.temperature_in_range]
    parts = [
        f"CCF {normalise_ccf(form.ccf_number)}",
        f"temp {temperature} {verdict}".strip(),
        f"split A {form.bottle_a_ml or 0:g} mL / B {form.bottle_b_ml or 0:g} mL",
    ]
    if form.observed:
        parts.append("directly observed")
    return "; ".join(parts)
