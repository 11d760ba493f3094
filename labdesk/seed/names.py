"""What a synthetic patient looks like: made-up names, MRNs, wristbands (never real people).

One place for every builder of synthetic data: the demo draws everyday names from short
lists (:func:`everyday_person`); the benchmarks' million-row databases draw from a
long-tailed pool of made-up syllable names (:class:`NamePool`), so a typed prefix fills a
page of search results at every size; the test worlds name their few patients themselves
(:meth:`SyntheticPerson.named`). All of them become the same :class:`SyntheticPerson`,
stored by :meth:`labdesk.seed.builder.ClinicBuilder.patient` or, in bulk, as rows.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta

from labdesk.domain.patient import Sex, name_key


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    """One made-up patient, before it is stored."""

    mrn: str
    family_name: str
    given_name: str
    name_key: str
    birth_date: date
    sex: Sex

    @classmethod
    def named(
        cls, mrn: str, family_name: str, given_name: str, birth_date: date, sex: Sex = Sex.UNKNOWN
    ) -> SyntheticPerson:
        """A person with the given name (the search key follows from it)."""
        return cls(mrn, family_name, given_name, name_key(family_name, given_name), birth_date, sex)


def mrn_for(number: int) -> str:
    """Medical record number of synthetic patient ``number`` (e.g. ``M0000123``)."""
    return f"M{number:07d}"


def wristband_for(number: int) -> str:
    """Wristband barcode value of bulk-generated patient ``number`` (e.g. ``WB00000123``)."""
    return f"WB{number:08d}"


def wristband_of(mrn: str) -> str:
    """Wristband barcode value the demo prints for a patient (``WB`` and the MRN)."""
    return f"WB{mrn}"


# ---------------------------------------------------------------- everyday names (demo)

EVERYDAY_FAMILY = (
    "Smith", "Johnson", "García", "Nguyen", "O'Brien", "Müller", "Kowalski", "Rossi", "Okafor",
    "Haddad", "Andersson", "Dubois", "Ivanova", "Tanaka", "Silva", "Cohen", "Brown", "Martínez",
    "Lee", "Walker", "Hernández", "Fischer", "Novak", "Papadopoulos",
)  # fmt: skip
"""Common family names of many origins, with accents and an apostrophe (search folding)."""
EVERYDAY_GIVEN = (
    "Ana", "John", "Mei", "José", "Amara", "Liam", "Zoë", "Omar", "Sofia", "Noah", "Chloé",
    "Ravi", "Fatima", "Lukas", "Yuki", "Grace", "Mateo", "Ingrid", "Kofi", "Elena",
)  # fmt: skip
_EVERYDAY_OLDEST = date(1940, 1, 1)
_EVERYDAY_SPAN_DAYS = 365 * 80


def everyday_person(rng: random.Random, number: int) -> SyntheticPerson:
    """A patient with a common first and last name, born 1940-2019 (the demo's patients)."""
    born = _EVERYDAY_OLDEST + timedelta(days=rng.randrange(0, _EVERYDAY_SPAN_DAYS))
    family = rng.choice(EVERYDAY_FAMILY)
    given = rng.choice(EVERYDAY_GIVEN)
    sex = rng.choice((Sex.FEMALE, Sex.MALE))
    return SyntheticPerson.named(mrn_for(number), family, given, born, sex)


# ---------------------------------------------------------------- long-tailed pool (bulk)

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
    """Made-up syllable names with long-tailed (Zipf-like) frequencies, fixed for all seeds.

    Built from short made-up syllables so a benchmark database never holds, or looks like it
    was copied from, real patient data; a few carry an apostrophe, a hyphen or an accent.
    """

    def __init__(self) -> None:
        rng = random.Random("labdesk-bench-names")
        self.families = [_family_name(rng) for _ in range(_FAMILY_POOL)]
        self.givens = [_given_name(rng) for _ in range(_GIVEN_POOL)]
        self._family_weights = _zipf(_FAMILY_POOL)
        self._given_weights = _zipf(_GIVEN_POOL)

    def person(self, rng: random.Random, number: int) -> SyntheticPerson:
        """Synthetic patient number ``number`` drawn from ``rng``."""
        family = rng.choices(self.families, cum_weights=self._family_weights)[0]
        given = rng.choices(self.givens, cum_weights=self._given_weights)[0]
        return SyntheticPerson(
            mrn=mrn_for(number),
            family_name=family,
            given_name=given,
            name_key=name_key(family, given),
            birth_date=_OLDEST + timedelta(days=rng.randrange(_SPAN_DAYS)),
            sex=rng.choice(_SEXES),
        )


def _zipf(size: int) -> list[float]:
    """Cumulative weights 1 / (rank + offset)."""
    return list(itertools.accumulate(1 / (rank + _ZIPF_OFFSET) for rank in range(size)))
