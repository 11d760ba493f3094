"""Coded rejection reasons and the recollection tasks a rejection or loss opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class RejectionReason(StrEnum):
    """Why the lab refused a specimen (the usual reasons of lab specimen-rejection policies)."""

    UNLABELLED = "unlabelled"
    MISLABELLED = "mislabelled"
    HAEMOLYSED = "haemolysed"
    CLOTTED = "clotted"
    QNS = "qns"
    WRONG_TUBE = "wrong_tube"
    EXPIRED_TUBE = "expired_tube"
    BEYOND_STABILITY = "beyond_stability"
    LEAKING = "leaking"

    @property
    def label(self) -> str:
        """Text shown to staff."""
        return _LABELS[self]


_LABELS = {
    RejectionReason.UNLABELLED: "Unlabelled",
    RejectionReason.MISLABELLED: "Mislabelled (identifiers do not match the order)",
    RejectionReason.HAEMOLYSED: "Haemolysed",
    RejectionReason.CLOTTED: "Clotted",
    RejectionReason.QNS: "Quantity not sufficient (QNS)",
    RejectionReason.WRONG_TUBE: "Wrong tube or container",
    RejectionReason.EXPIRED_TUBE: "Expired tube or transport medium",
    RejectionReason.BEYOND_STABILITY: "Beyond stability (too old, wrong temperature)",
    RejectionReason.LEAKING: "Leaking or unsafe",
}

LOST_REASON_CODE = "lost"
"""``reason`` of a recollection task opened because the specimen was lost."""


class RecollectionStatus(StrEnum):
    """Lifecycle of a recollection task on the station worklist."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(eq=False, kw_only=True)
class RecollectionTask:
    """A specimen that must be drawn again, shown on the station worklist.

    ``reason`` is a :class:`RejectionReason` value, or ``"lost"``.
    """

    specimen_id: int
    patient_id: int
    site_id: int
    reason: str
    opened_at: datetime
    opened_by_id: int
    note: str = ""
    status: RecollectionStatus = RecollectionStatus.OPEN
    closed_at: datetime | None = None
    closed_by_id: int | None = None
    close_note: str = ""
    recollected_specimen_id: int | None = None
    """The new specimen drawn for the task (set when it is closed by a collection)."""
    id: int | None = None


def reason_label(code: str) -> str:
    """Human text for a task or event reason code (free text passes through)."""
    if code == LOST_REASON_CODE:
        return "Lost in transit"
    try:
        return RejectionReason(code).label
    except ValueError:
        return code
