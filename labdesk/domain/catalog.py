"""Test catalog: container types and test definitions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SpecimenCategory(StrEnum):
    """Broad specimen family; drives where a container is listed in the draw plan."""

    BLOOD = "blood"
    URINE = "urine"
    OTHER = "other"


class TemperatureClass(StrEnum):
    """Transport and storage temperature group."""

    AMBIENT = "ambient"
    REFRIGERATED = "refrigerated"
    FROZEN = "frozen"


class Handling(StrEnum):
    """Special collection and handling instructions."""

    FASTING = "fasting"
    ON_ICE = "on_ice"
    PROTECT_FROM_LIGHT = "protect_from_light"
    DO_NOT_REFRIGERATE = "do_not_refrigerate"
    FILL_CITRATE_90 = "fill_citrate_90"
    CHAIN_OF_CUSTODY = "chain_of_custody"
    STERILE = "sterile"

    @property
    def label(self) -> str:
        """Text shown to the medical assistant."""
        return _HANDLING_LABELS[self]


_HANDLING_LABELS = {
    Handling.FASTING: "Fasting required",
    Handling.ON_ICE: "Transport on ice",
    Handling.PROTECT_FROM_LIGHT: "Protect from light",
    Handling.DO_NOT_REFRIGERATE: "Do not refrigerate",
    Handling.FILL_CITRATE_90: "Fill citrate tube to at least 90 %",
    Handling.CHAIN_OF_CUSTODY: "Forensic chain of custody",
    Handling.STERILE: "Sterile container",
}


@dataclass(eq=False, kw_only=True)
class ContainerType:
    """A tube, bottle or cup, with its CLSI order-of-draw rank (urine and others last)."""

    code: str
    name: str
    cap_colour: str
    cap_hex: str
    additive: str
    draw_rank: int
    nominal_volume_ml: float
    inversions: str
    category: SpecimenCategory


@dataclass(eq=False, kw_only=True)
class TestDefinition:
    """One orderable test as the performing lab defines it.

    Stability is in hours per temperature class; ``None`` means the specimen must not be
    kept at that temperature. Turnaround is in minutes from collection.
    """

    code: str
    loinc: str
    name: str
    specimen_type: str
    container_code: str
    preferred_volume_ml: float
    minimum_volume_ml: float
    stability_ambient_h: float | None
    stability_refrigerated_h: float | None
    stability_frozen_h: float | None
    transport_temperature: TemperatureClass
    routine_tat_min: int
    stat_tat_min: int | None
    working_days: bool = False
    critical_low: float | None = None
    critical_high: float | None = None
    units: str = ""
    handling: str = ""
    active: bool = True

    @property
    def handling_flags(self) -> tuple[Handling, ...]:
        """Handling instructions parsed from the stored ``;``-separated list."""
        return tuple(Handling(h) for h in self.handling.split(";") if h)

    def stability_hours(self, temperature: TemperatureClass) -> float | None:
        """Hours the specimen stays valid at ``temperature`` (None: not acceptable)."""
        return {
            TemperatureClass.AMBIENT: self.stability_ambient_h,
            TemperatureClass.REFRIGERATED: self.stability_refrigerated_h,
            TemperatureClass.FROZEN: self.stability_frozen_h,
        }[temperature]
