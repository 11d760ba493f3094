"""Add-on tests: may a test join a specimen already drawn? (pure, catalog-driven)

A clinician or the lab asks to run one more test on a tube already collected. The catalog
(the lab's compendium) decides, never code: the new test must use the same specimen type and
container, the specimen must still be inside the test's stability at the temperature it is
kept at (counted from the original collection), and enough material must be left.

Volume bookkeeping: every test a specimen carries *reserves* a volume, recorded when it is
collected or added (:data:`RESERVATION_BASIS`). What is left is the specimen's usable volume
(the volume the station recorded at the chair, else the container's nominal volume) minus
what its tests reserve; an add-on is allowed when what is left covers the new test's
reservation. Cancelled tests reserve nothing (the lab does not run them).

:func:`decide_add_on` lists *every* reason a request fails, in words the medical assistant
can act on ("stability expired 3 h ago", "not enough serum left: 0.4 of 0.7 mL").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from labdesk.domain.catalog import TemperatureClass, TestDefinition
from labdesk.domain.order import TestStatus
from labdesk.domain.preparation import PreparationRule
from labdesk.domain.specimen import SpecimenStatus

RESERVATION_BASIS = "minimum"
"""Which catalog volume a test reserves: its *minimum* volume.

Why the minimum and not the preferred volume: the preferred volume includes the lab's margin
for repeats and dilutions of a first draw; reserving it for every test would refuse add-ons
the lab can still run (a 5 mL SST with a CMP and a lipid panel would already look "full").
The minimum is what the lab says the test cannot be run without, so left − minimum ≥ 0 is
exactly the question "can the lab still run it".
"""

RESULTED = frozenset(
    {
        TestStatus.PRELIMINARY,
        TestStatus.FINAL,
        TestStatus.ACKNOWLEDGED,
        TestStatus.NOT_PERFORMED,
    }
)
"""States in which a test has been reported: adding it again is refused."""

_NOT_ADDABLE = {
    SpecimenStatus.REJECTED: "the specimen was rejected by the lab",
    SpecimenStatus.LOST: "the specimen was reported lost",
}

_EPSILON_ML = 1e-6


def reserved_volume(test: TestDefinition) -> float:
    """The volume (mL) ``test`` reserves on its specimen (see :data:`RESERVATION_BASIS`)."""
    return test.minimum_volume_ml


@dataclass(frozen=True, kw_only=True)
class CarriedTest:
    """One test a specimen already carries, with the volume it reserves."""

    code: str
    status: TestStatus
    specimen_type: str
    reserved_ml: float


@dataclass(frozen=True, kw_only=True)
class ProvenPreparation:
    """What the preparation answers recorded on a specimen prove (judged by their own rules).

    An answer proves only what its own test's rule asked: a glucose's "fasted 8 h, met"
    proves 8 h, not the 12 h a lipid panel needs, whatever the patient actually said.
    """

    fasted_hours: float | None = None
    """The longest fasting a met answer on the specimen proves; None: no fasting was met."""
    first_morning_urine: bool = False
    """A met "first morning urine" answer is on the specimen."""


@dataclass(frozen=True, kw_only=True)
class SpecimenFacts:
    """What the rule needs to know about the specimen."""

    accession: str
    status: SpecimenStatus
    container_code: str
    collected_at: datetime
    temperature: TemperatureClass
    usable_ml: float
    """The collected volume when the station recorded one, else the container's nominal."""
    carried: tuple[CarriedTest, ...] = ()
    proven: ProvenPreparation = ProvenPreparation()

    @property
    def specimen_types(self) -> tuple[str, ...]:
        """The specimen types of the tests it carries (normally one)."""
        return tuple(dict.fromkeys(t.specimen_type for t in self.carried if t.specimen_type))

    @property
    def reserved_ml(self) -> float:
        """What its tests reserve (cancelled tests reserve nothing)."""
        return sum(t.reserved_ml for t in self.carried if t.status is not TestStatus.CANCELLED)

    @property
    def left_ml(self) -> float:
        """Usable volume minus what its tests reserve (never below zero)."""
        return max(0.0, self.usable_ml - self.reserved_ml)


@dataclass(frozen=True, kw_only=True)
class AddOnDecision:
    """The answer: allowed, or refused with every reason."""

    test_code: str
    accession: str
    reasons: tuple[str, ...]
    left_ml: float
    needed_ml: float
    stable_until: datetime | None
    """When the new test's stability at the specimen's temperature ends (None: not allowed
    at that temperature)."""

    @property
    def allowed(self) -> bool:
        """True when nothing stands in the way."""
        return not self.reasons

    @property
    def summary(self) -> str:
        """One sentence for the screen."""
        if self.allowed:
            return (
                f"{self.test_code} can be added to {self.accession} "
                f"({_ml(self.left_ml)} mL left, {self.needed_ml:g} mL needed)."
            )
        return f"{self.test_code} cannot be added to {self.accession}: " + "; ".join(self.reasons)


def decide_add_on(
    specimen: SpecimenFacts,
    test: TestDefinition,
    now: datetime,
    preparation: PreparationRule | None = None,
) -> AddOnDecision:
    """May ``test`` be added to ``specimen`` at ``now``? Every failed condition is listed.

    Conditions, all from the catalog: the test is active; the specimen is not rejected or
    lost; the specimen does not already carry the test (resulted, cancelled or pending);
    same specimen type and container; ``now`` is before the collection time plus the test's
    stability at the specimen's temperature; what is left covers the test's reservation;
    and the test's own ``preparation`` rule is proven by what was recorded at the draw
    (:func:`preparation_reasons`).
    """
    reasons: list[str] = []
    if not test.active:
        reasons.append(f"{test.code} is no longer offered by the lab")
    if specimen.status in _NOT_ADDABLE:
        reasons.append(_NOT_ADDABLE[specimen.status])
    reasons.extend(_already_carried(specimen.carried, test.code))
    types = specimen.specimen_types
    if types and test.specimen_type not in types:
        reasons.append(
            f"{test.code} needs {test.specimen_type}; this specimen is {'/'.join(types)}"
        )
    if test.container_code != specimen.container_code:
        reasons.append(
            f"{test.code} needs a {test.container_code} container; "
            f"this specimen is in {specimen.container_code}"
        )
    stable_until = _stable_until(specimen, test)
    if stable_until is None:
        reasons.append(f"{test.code} must not be kept {specimen.temperature.value}")
    elif now >= stable_until:
        hours = test.stability_hours(specimen.temperature)
        reasons.append(
            f"stability expired {_ago(now - stable_until)} ago "
            f"({test.code} keeps {hours:g} h {specimen.temperature.value})"
        )
    needed = reserved_volume(test)
    left = specimen.left_ml
    if left + _EPSILON_ML < needed:
        material = test.specimen_type or "material"
        reasons.append(f"not enough {material} left: {_ml(left)} of {needed:g} mL")
    reasons.extend(preparation_reasons(test.code, preparation, specimen.proven))
    return AddOnDecision(
        test_code=test.code,
        accession=specimen.accession,
        reasons=tuple(reasons),
        left_ml=left,
        needed_ml=needed,
        stable_until=stable_until,
    )


def preparation_reasons(
    code: str, rule: PreparationRule | None, proven: ProvenPreparation
) -> list[str]:
    """Why the specimen cannot carry ``code``'s preparation rule (empty: it can, or none).

    Nobody can answer a preparation question for a tube already drawn: a fasting test needs
    a met fasting answer at least as long as its own, a first-morning-urine test a met
    first-morning answer, and a drug level the last dose's time, which is asked only of the
    test it is for.
    """
    if rule is None:
        return []
    reasons = []
    hours = rule.fasting_hours
    if hours is not None and (proven.fasted_hours is None or proven.fasted_hours < hours):
        shown = f"{hours:g} h"
        if proven.fasted_hours is None:
            reasons.append(
                f"{code} needs {shown} fasting and no fasting was confirmed when it was drawn"
            )
        else:
            reasons.append(
                f"{code} needs {shown} fasting; the draw confirmed only {proven.fasted_hours:g} h"
            )
    if rule.last_dose_hours is not None:
        reasons.append(f"{code} needs the last dose's time, which was not asked at the draw")
    if rule.first_morning_urine and not proven.first_morning_urine:
        reasons.append(f"{code} needs a first morning urine; this one was not confirmed as one")
    return reasons


def _already_carried(carried: Sequence[CarriedTest], code: str) -> list[str]:
    same = [t for t in carried if t.code == code]
    if not same:
        return []
    if any(t.status in RESULTED for t in same):
        return [f"{code} was already resulted on this specimen"]
    if all(t.status is TestStatus.CANCELLED for t in same):
        return [f"{code} was cancelled on this specimen; order it again as a new collection"]
    return [f"{code} is already on this specimen"]


def _stable_until(specimen: SpecimenFacts, test: TestDefinition) -> datetime | None:
    hours = test.stability_hours(specimen.temperature)
    if hours is None:
        return None
    return specimen.collected_at + timedelta(hours=hours)


def _ago(delta: timedelta) -> str:
    """``3 h`` on the hour, ``3 h 10 min``, ``25 min``; ``0 min`` at the boundary itself."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


def _ml(volume: float) -> str:
    """Volume text without float noise: 0.4, 1.25, 3."""
    return f"{round(volume, 2):g}"


@dataclass(frozen=True, kw_only=True)
class VolumeReservation:
    """The volume one ordered test reserves on its specimen, recorded when it joined it."""

    ordered_test_id: int
    specimen_id: int
    test_code: str
    volume_ml: float
    reserved_at: datetime
    reserved_by_id: int
    added_on: bool = False
    requested_by: str = ""
    """For an add-on: who asked for it (the clinician or the lab)."""
