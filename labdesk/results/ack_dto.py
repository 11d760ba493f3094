"""What the signature dialog shows before a clinician signs: each test and its values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from labdesk.domain.order import TestStatus
from labdesk.domain.result import AbnormalFlag, ResultStatus


class AckRefusal(StrEnum):
    """Why a selected test cannot be acknowledged now."""

    NO_RESULT = "no_result"
    """The lab has not reported it yet (ordered, collected, in transit or at the lab)."""
    NOT_NORMAL_FINAL = "not_normal_final"
    """Several are signed together only when each is a normal final result."""


@dataclass(frozen=True)
class SigningValue:
    """One current observation of a test being signed."""

    observation_name: str
    value: str
    units: str
    reference_range: str
    abnormal_flag: AbnormalFlag | None
    status: ResultStatus

    @property
    def critical(self) -> bool:
        """True for a critical (panic) value."""
        return self.abnormal_flag is not None and self.abnormal_flag.is_critical

    @property
    def abnormal(self) -> bool:
        """True for any flag other than normal (critical ones included)."""
        return self.abnormal_flag is not None and self.abnormal_flag is not AbnormalFlag.NORMAL


@dataclass(frozen=True)
class SigningLine:
    """One selected test: whose, which, its current values, and whether it can be signed."""

    ordered_test_id: int
    patient_id: int
    patient_name: str
    mrn: str
    test_code: str
    test_name: str
    status: TestStatus
    values: tuple[SigningValue, ...]
    """Current values only: corrected rows and retracted (W) values are left out."""
    refusal: AckRefusal | None = None
    caveat: str | None = None
    """Why the values need care, e.g. the tube was received beyond its stability."""


@dataclass(frozen=True)
class SigningPreview:
    """The selection split the way ``acknowledge_results`` will treat it."""

    to_sign: list[SigningLine]
    refused: list[SigningLine]
    """Tests that stop the signature: signing any selection holding one is refused."""
    already_closed: list[SigningLine]
    """Tests acknowledged or cancelled meanwhile: skipped, not signed again."""

    @property
    def can_sign(self) -> bool:
        """True when the signature dialog may open: something to sign and nothing refused."""
        return bool(self.to_sign) and not self.refused
