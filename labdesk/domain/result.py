"""Results from the lab and clinicians' acknowledgements of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ResultStatus(StrEnum):
    """Observation status (HL7 table 0085 subset)."""

    PRELIMINARY = "P"
    FINAL = "F"
    CORRECTED = "C"
    WRONG = "W"
    NOT_OBTAINED = "X"


class AbnormalFlag(StrEnum):
    """Abnormal flags (HL7 table 0078 subset)."""

    NORMAL = "N"
    LOW = "L"
    HIGH = "H"
    CRITICAL_LOW = "LL"
    CRITICAL_HIGH = "HH"
    ABNORMAL = "A"
    CRITICAL = "AA"

    @property
    def is_critical(self) -> bool:
        """True for the critical (panic) flags."""
        return self in {
            AbnormalFlag.CRITICAL_LOW,
            AbnormalFlag.CRITICAL_HIGH,
            AbnormalFlag.CRITICAL,
        }


class AckMeaning(StrEnum):
    """What a clinician's acknowledgement attests (Part 11.50 signature meaning)."""

    REVIEWED = "reviewed"
    PATIENT_NOTIFIED = "patient_notified"
    ACTION_TAKEN = "action_taken"


@dataclass(eq=False, kw_only=True)
class Result:
    """One observation; a correction supersedes an earlier row, which is kept."""

    observation_code: str
    observation_name: str
    value: str
    status: ResultStatus
    received_at: datetime
    ordered_test_id: int | None = None
    specimen_id: int | None = None
    units: str = ""
    reference_range: str = ""
    abnormal_flag: AbnormalFlag | None = None
    observed_at: datetime | None = None
    supersedes_id: int | None = None
    message_id: str = ""
    id: int | None = None


@dataclass(eq=False, kw_only=True)
class Acknowledgement:
    """A clinician's signed review of an ordered test's result."""

    ordered_test_id: int
    user_id: int
    meaning: AckMeaning
    acknowledged_at: datetime
    note: str = ""
    id: int | None = None
