"""Deterministic synthetic people for benchmark databases.

Names are built from short made-up syllables so a benchmark database never holds, or looks
like it was copied from, real patient data. A few names carry an apostrophe, a hyphen or an
accent so that search folding is exercised as it is in a clinic.
"""

from __future__ import annotations

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


def family_name(rng: random.Random) -> str:
    """A made-up family name of two or three syllables."""
    parts = [rng.choice(_FAMILY_SYLLABLES) for _ in range(rng.choice((2, 2, 3)))]
    name = "".join(parts).capitalize()
    roll = rng.random()
    if roll < 0.02:
        return f"O'{name}"
    if roll < 0.04:
        return f"{name}-{rng.choice(_FAMILY_SYLLABLES).capitalize()}"
    if roll < 0.05:
        return name.replace("e", "é", 1)
    return name


def given_name(rng: random.Random) -> str:
    """A made-up given name."""
    parts = [rng.choice(_GIVEN_SYLLABLES) for _ in range(rng.choice((1, 2, 2)))]
    return ("".join(parts) + rng.choice(_GIVEN_ENDINGS)).capitalize()


def person(rng: random.Random, patient_id: int) -> SyntheticPerson:
    """Synthetic patient number ``patient_id`` drawn from ``rng``."""
    family = family_name(rng)
    given = given_name(rng)
    return SyntheticPerson(
        mrn=mrn_for(patient_id),
        family_name=family,
        given_name=given,
        name_key=name_key(family, given),
        birth_date=_OLDEST + timedelta(days=rng.randrange(_SPAN_DAYS)),
        sex=rng.choice(_SEXES),
    )
