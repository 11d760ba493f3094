"""Blood-volume safeguards: how much blood a child or small adult may give in 24 h and 30 days.

The clinic's policy (``[blood_volume]`` in the config; defaults in :mod:`labdesk.config`):
at most 5 % of the estimated total blood volume (TBV) in 24 hours and 10 % in 30 days.
TBV is estimated from the weight by age band (mL per kg: neonate 85, infant 80, child 75,
adult 70). The plan's blood total plus what was drawn in each window is compared with its
limit; reaching the limit exactly is allowed, one drop more is over, and the plan says by
how much. Pure (stdlib only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from labdesk.domain.catalog import TestDefinition
from labdesk.domain.errors import ValidationError

MIN_WEIGHT_KG = 0.3
"""Lighter than the smallest viable neonate: a typing error."""
MAX_WEIGHT_KG = 350.0
"""Heavier than any patient a clinic chair (or scale) takes: a typing error."""
WINDOW_24H = timedelta(hours=24)
WINDOW_30D = timedelta(days=30)
_EPSILON = 1e-6


class AgeBand(StrEnum):
    """Age bands with their own mL/kg estimate of total blood volume."""

    NEONATE = "neonate"
    """Under 28 days."""
    INFANT = "infant"
    """28 days to under 1 year."""
    CHILD = "child"
    """1 year to under 18 years."""
    ADULT = "adult"


def age_band(birth_date: date, on: date) -> AgeBand:
    """The patient's band on ``on`` (neonate < 28 days, infant < 1 y, child < 18 y)."""
    if (on - birth_date).days < 28:
        return AgeBand.NEONATE
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if years < 1:
        return AgeBand.INFANT
    if years < 18:
        return AgeBand.CHILD
    return AgeBand.ADULT


@dataclass(frozen=True)
class VolumePolicy:
    """The clinic's limits (validated by :meth:`problems`)."""

    ml_per_kg: tuple[tuple[AgeBand, float], ...]
    """Total blood volume per kg of weight, for every band."""
    limit_24h_percent: float
    limit_30d_percent: float

    def tbv_ml_per_kg(self, band: AgeBand) -> float:
        """mL of blood per kg for ``band``."""
        return dict(self.ml_per_kg)[band]

    def problems(self) -> list[str]:
        """What is wrong with the policy's values (empty: it is usable)."""
        found = []
        given = dict(self.ml_per_kg)
        for band in AgeBand:
            value = given.get(band)
            if value is None:
                found.append(f"no mL/kg for the {band.value} band")
            elif not 40 <= value <= 120:
                found.append(f"{band.value} is {value:g} mL/kg; use 40 to 120")
        for name, value in (
            ("limit_24h_percent", self.limit_24h_percent),
            ("limit_30d_percent", self.limit_30d_percent),
        ):
            if not 0 < value <= 20:
                found.append(f"{name} is {value:g}; use a percentage above 0 and at most 20")
        if not found and self.limit_24h_percent > self.limit_30d_percent:
            found.append("limit_24h_percent is more than limit_30d_percent")
        return found


def policy_from(
    ml_per_kg: Mapping[str, float], limit_24h_percent: float, limit_30d_percent: float
) -> VolumePolicy:
    """A policy from plain values (band names as keys).

    Raises:
        ValidationError: unknown band names or values outside sane ranges.
    """
    bands = {b.value: b for b in AgeBand}
    unknown = sorted(set(ml_per_kg) - set(bands))
    if unknown:
        raise ValidationError(
            f"Unknown age band(s) {', '.join(unknown)} in the blood-volume policy.",
            hint=f"Use {', '.join(bands)}.",
        )
    policy = VolumePolicy(
        ml_per_kg=tuple((bands[k], float(v)) for k, v in ml_per_kg.items()),
        limit_24h_percent=float(limit_24h_percent),
        limit_30d_percent=float(limit_30d_percent),
    )
    problems = policy.problems()
    if problems:
        raise ValidationError(
            "The blood-volume policy is not usable: " + "; ".join(problems) + ".",
            hint="Correct [blood_volume] in the config file.",
        )
    return policy


def check_weight(weight_kg: float) -> float:
    """The weight if plausible.

    Raises:
        ValidationError: NaN, 0, negative, or outside 0.3-350 kg.
    """
    if weight_kg != weight_kg:  # NaN
        raise ValidationError("The weight is not a number.", hint="Enter the weight in kg.")
    if not MIN_WEIGHT_KG <= weight_kg <= MAX_WEIGHT_KG:
        raise ValidationError(
            f"A weight of {weight_kg:g} kg is not possible.",
            hint=f"Weigh the patient and enter the weight in kg ({MIN_WEIGHT_KG:g} to "
            f"{MAX_WEIGHT_KG:g}); a weight in pounds is 2.2 times the kg.",
        )
    return float(weight_kg)


def drawn_in(draws: Iterable[tuple[datetime, float]], now: datetime, window: timedelta) -> float:
    """mL drawn within ``window`` before ``now``: after ``now - window``, up to ``now``."""
    start = now - window
    return round(sum(ml for at, ml in draws if start < at <= now), 3)


@dataclass(frozen=True)
class VolumeAssessment:
    """The plan's blood total against the policy's limits."""

    weight_kg: float
    band: AgeBand
    total_blood_volume_ml: float
    planned_ml: float
    drawn_24h_ml: float
    drawn_30d_ml: float
    limit_24h_ml: float
    limit_30d_ml: float

    @property
    def excess_24h_ml(self) -> float:
        """mL over the 24 h limit (0 when within)."""
        return _excess(self.drawn_24h_ml + self.planned_ml, self.limit_24h_ml)

    @property
    def excess_30d_ml(self) -> float:
        """mL over the 30-day limit (0 when within)."""
        return _excess(self.drawn_30d_ml + self.planned_ml, self.limit_30d_ml)

    @property
    def excess_ml(self) -> float:
        """The larger excess: what must come off the plan to be within both limits."""
        return max(self.excess_24h_ml, self.excess_30d_ml)

    @property
    def over(self) -> bool:
        """True when the plan would break a limit."""
        return self.excess_ml > 0

    @property
    def allowed_now_ml(self) -> float:
        """The most that may be drawn now within both limits."""
        return round(
            max(
                0.0,
                min(self.limit_24h_ml - self.drawn_24h_ml, self.limit_30d_ml - self.drawn_30d_ml),
            ),
            2,
        )

    def summary(self) -> str:
        """One line for the plan and the audit."""
        text = (
            f"blood {self.planned_ml:g} mL planned, {self.drawn_24h_ml:g} mL in 24 h, "
            f"{self.drawn_30d_ml:g} mL in 30 days; limits {self.limit_24h_ml:g} mL / 24 h, "
            f"{self.limit_30d_ml:g} mL / 30 days ({self.weight_kg:g} kg, {self.band.value})"
        )
        if self.over:
            which = []
            if self.excess_24h_ml > 0:
                which.append(f"{self.excess_24h_ml:g} mL over the 24 h limit")
            if self.excess_30d_ml > 0:
                which.append(f"{self.excess_30d_ml:g} mL over the 30-day limit")
            text += ": " + " and ".join(which)
        return text


def assess(
    policy: VolumePolicy,
    weight_kg: float,
    band: AgeBand,
    planned_ml: float,
    drawn_24h_ml: float,
    drawn_30d_ml: float,
) -> VolumeAssessment:
    """Compare the plan with the limits (the weight is checked first).

    Raises:
        ValidationError: for an impossible weight.
    """
    weight = check_weight(weight_kg)
    tbv = weight * policy.tbv_ml_per_kg(band)
    return VolumeAssessment(
        weight_kg=weight,
        band=band,
        total_blood_volume_ml=round(tbv, 2),
        planned_ml=round(planned_ml, 3),
        drawn_24h_ml=round(drawn_24h_ml, 3),
        drawn_30d_ml=round(drawn_30d_ml, 3),
        limit_24h_ml=round(tbv * policy.limit_24h_percent / 100, 2),
        limit_30d_ml=round(tbv * policy.limit_30d_percent / 100, 2),
    )


def _excess(total: float, limit: float) -> float:
    over = total - limit
    return max(round(over, 2), 0.01) if over > _EPSILON else 0.0


@dataclass(frozen=True)
class PediatricTube:
    """The compendium's minimum-volume container for a test, and the volume it needs."""

    test_code: str
    container_code: str
    volume_ml: float

    def applied_to(self, test: TestDefinition) -> TestDefinition:
        """``test`` as drawn in this tube: its container, needing the tube's volume.

        The volume is both the preferred and the minimum (a microtainer is filled once), so
        what the test reserves on the specimen is what this tube needs, not the full tube's.
        """
        return replace(
            test,
            container_code=self.container_code,
            preferred_volume_ml=self.volume_ml,
            minimum_volume_ml=self.volume_ml,
        )
