"""Deterministic synthetic people for benchmark databases.

Names are built from short made-up syllables so a benchmark database never holds, or looks
like it was copied from, real patient data. Like real names they are drawn from a pool with
a long-tailed (Zipf-like) frequency, so a typed prefix such as "bel" fills a page of results
at every database size; a few carry an apostrophe, a hyphen or an accent so that search
folding is exercised as it is in a clinic.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta

from labdesk.domain.patient import Sex, name_key

_FAMILY_SYLLABLES = (
    "ab", "bel", "cor", "dan", "el", "fen", "gar", "hol", "is", "jor", "kel", "lin", "mar",
    "nor", "ol", "par", "quin", "ros", "sal", "tor", "ul", "ven", "wes", "yar", "zan",
)  # fmt: skip
_GIVEN_SYLLABLES = (
    "a", "bo", "ca", "di", "e", "fa", "ge", "ha", "i", "jo", "ka", "li", "mo", "na", "o",
    "pi", "ra", "si", "tu", "va",
)  # fmt: skip
_GIVEN_ENDINGS = ("n", "l", "ra", "th", "s", "na", "x", "m")
_FAMILY_POOL = 5000
_GIVEN_POOL = 800
_ZIPF_OFFSET = 10  # flattens the head: the commonest name is about 1.5 % of patients
_SEXES = (Sex.FEMALE, Sex.MALE, Sex.FEMALE, Sex.MALE, Sex.FEMALE, Sex.MALE, Sex.OTHER, Sex.UNKNOWN)
_OLDEST = date(1930, 1, 1)
_SPAN_DAYS = (date(2025, 12, 31) - _OLDEST).days


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    """One made-up patient."""

    mrn: str
    family_name: str
    given_name: str
    name_key: str
    birth_date: date
    sex: Sex


def mrn_for(patient_id: int) -> str:
    """Medical record number of synthetic patient ``patient_id`` (e.g. ``M0000123``)."""
    return f"M{patient_id:07d}"


def wristband_for(patient_id: int) -> str:
    """Wristband barcode value of synthetic patient ``patient_id``."""
    return f"WB{patient_id:08d}"


def _family_name(rng: random.Random) -> str:
    name = "".join(rng.choice(_FAMILY_SYLLABLES) for _ in range(rng.choice((2, 2, 3))))
    name = name.capitalize()
    roll = rng.random()
    if roll < 0.02:
        return f"O'{name}"
    if roll < 0.04:
        return f"{name}-{rng.choice(_FAMILY_SYLLABLES).capitalize()}"
    if roll < 0.05:
        return name.replace("e", "é", 1)
    return name


def _given_name(rng: random.Random) -> str:
    parts = "".join(rng.choice(_GIVEN_SYLLABLES) for _ in range(rng.choice((1, 2, 2))))
    return (parts + rng.choice(_GIVEN_ENDINGS)).capitalize()


class NamePool:
    """Made-up family and given names with long-tailed frequencies (fixed for all seeds)."""

    def __init__(self) -> None:
        rng = random.Random("labdesk-bench-names")
        self.families = [_family_name(rng) for _ in range(_FAMILY_POOL)]
        self.givens = [_given_name(rng) for _ in range(_GIVEN_POOL)]
        self._family_weights = _zipf(_FAMILY_POOL)
        self._given_weights = _zipf(_GIVEN_POOL)

    def person(self, rng: random.Random, patient_id: int) -> SyntheticPerson:
        """Synthetic patient number ``patient_id`` drawn from ``rng``."""
        family = rng.choices(self.families, cum_weights=self._family_weights)[0]
        given = rng.choices(self.givens, cum_weights=self._given_weights)[0]
        return SyntheticPerson(
            mrn=mrn_for(patient_id),
            family_name=family,
            given_name=given,
            name_key=name_key(family, given),
            birth_date=_OLDEST + timedelta(days=rng.randrange(_SPAN_DAYS)),
            sex=rng.choice(_SEXES),
        )


def _zipf(size: int) -> list[float]:
    """Cumulative weights 1 / (rank + offset)."""
    return list(itertools.accumulate(1 / (rank + _ZIPF_OFFSET) for rank in range(size)))
