"""Patients and their identifiers."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Sex(StrEnum):
    """Administrative sex (HL7 table 0001 subset)."""

    FEMALE = "F"
    MALE = "M"
    OTHER = "O"
    UNKNOWN = "U"


@dataclass(eq=False, kw_only=True)
class PatientIdentifier:
    """Another identifier of a patient (wristband, insurance card, national ID...)."""

    system: str
    value: str
    patient_id: int | None = None
    id: int | None = None


@dataclass(eq=False, kw_only=True)
class Patient:
    """A person specimens are collected from."""

    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    sex: Sex
    created_at: datetime
    name_key: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        self.name_key = name_key(self.family_name, self.given_name)

    @property
    def display_name(self) -> str:
        """Name as shown and printed: ``Last, First``."""
        return f"{self.family_name}, {self.given_name}"


def fold(text: str) -> str:
    """Fold text for forgiving search: strip accents, upper-case, collapse punctuation."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = [ch if ch.isalnum() else " " for ch in stripped.upper()]
    return " ".join("".join(kept).split())


NAME_SEPARATOR = "\x1f"  # sorts before space and letters: "SMITH<sep>ZED" < "SMITHSON<sep>AL"


def name_key(family: str, given: str) -> str:
    """Index key used for name-prefix search: ``FAMILY<US>GIVEN`` folded.

    The unit-separator character sorts before every letter and space, so all patients with
    the exact family name come before longer family names that share its prefix.
    """
    return f"{fold(family)}{NAME_SEPARATOR}{fold(given)}"
