"""A patient's visit to the phlebotomy chair: identification, collections, scan-back alarms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EncounterStatus(StrEnum):
    """Lifecycle of one visit at the station."""

    OPEN = "open"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class IdMethod(StrEnum):
    """How the two identifiers (name and date of birth) were confirmed."""

    NAME_DOB = "name_dob"
    """The patient stated name and date of birth; the MA checked them against the record."""
    WRISTBAND = "wristband"
    """A scanned wristband carrying the patient's identifiers matched the record."""


class CollectionMethod(StrEnum):
    """How a specimen was obtained."""

    VENIPUNCTURE = "venipuncture"
    CLEAN_CATCH = "clean_catch"
    CATHETER = "catheter"
    RANDOM = "random"
    FORENSIC = "forensic"


class AlarmKind(StrEnum):
    """Why a scan-back raised an alarm."""

    WRONG_PATIENT = "wrong_patient"
    UNKNOWN_LABEL = "unknown_label"
    MALFORMED = "malformed"
    NOT_IN_ENCOUNTER = "not_in_encounter"


@dataclass(eq=False, kw_only=True)
class Encounter:
    """One patient at one station, from opening the record to done (or abandoned)."""

    patient_id: int
    station_code: str
    site_id: int
    started_by_id: int
    started_at: datetime
    status: EncounterStatus = EncounterStatus.OPEN
    identified_at: datetime | None = None
    identified_by_id: int | None = None
    id_method: IdMethod | None = None
    ended_at: datetime | None = None
    end_reason: str = ""
    id: int | None = None

    @property
    def identified(self) -> bool:
        """True once two identifiers have been confirmed."""
        return self.identified_at is not None

    @property
    def is_open(self) -> bool:
        """True until completed or abandoned."""
        return self.status is EncounterStatus.OPEN


@dataclass(eq=False, kw_only=True)
class CollectionDetail:
    """Facts of one collection that the specimen row does not hold."""

    specimen_id: int
    encounter_id: int
    method: CollectionMethod
    fasting: bool | None = None
    backdate_reason: str = ""


@dataclass(eq=False, kw_only=True)
class ForensicRecord:
    """The chain-of-custody form data of one forensic urine collection."""

    specimen_id: int
    encounter_id: int
    ccf_number: str
    temperature_c: float
    minutes_to_temperature_read: float
    temperature_in_range: bool
    bottle_a_ml: float
    bottle_b_ml: float
    bottles_sealed_and_dated: bool
    donor_initialled_seals: bool
    donor_id_checked: bool
    observed: bool
    remarks: str = ""
    recollection_of_id: int | None = None
    recollection_waived_reason: str = ""


@dataclass(eq=False, kw_only=True)
class MissedCollection:
    """An ordered test the MA could not collect at this visit; it stays pending."""

    encounter_id: int
    ordered_test_id: int
    reason: str
    recorded_at: datetime
    recorded_by_id: int
    id: int | None = None


@dataclass(eq=False, kw_only=True)
class ScanAlarm:
    """A scan-back that did not match: blocks completing the visit until resolved."""

    encounter_id: int
    kind: AlarmKind
    scanned: str
    message: str
    raised_at: datetime
    raised_by_id: int
    resolved_at: datetime | None = None
    resolved_by_id: int | None = None
    resolution: str = ""
    id: int | None = None

    @property
    def open(self) -> bool:
        """True until someone records how it was resolved."""
        return self.resolved_at is None
