"""Coded rejection reasons and the recollection tasks a rejection or loss opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from labdesk.domain.loss import LossReason, loss_label, short_label


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

OTHER_NOTE_SHOWN = 80
"""How much of an OTHER loss's note its label carries (worklist column, lab message)."""

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

    ``reason`` is a :class:`RejectionReason` value, or ``"lost"``; a lost specimen's task
    carries its :class:`LossReason` in ``loss_reason`` (None for a rejection). Tasks opened
    before loss reasons were coded were migrated to OTHER with their text in ``note``.
    """

    specimen_id: int
    patient_id: int
    site_id: int
    reason: str
    opened_at: datetime
    opened_by_id: int
    note: str = ""
    loss_reason: LossReason | None = None
    status: RecollectionStatus = RecollectionStatus.OPEN
    closed_at: datetime | None = None
    closed_by_id: int | None = None
    close_note: str = ""
    recollected_specimen_id: int | None = None
    """The new specimen drawn for the task (set when it is closed by a collection)."""
    id: int | None = None


def reason_label(code: str) -> str:
    """Human text for a task or event reason code (free text passes through).

    Covers rejection codes, loss codes (the reason of a lost custody event) and the task's
    bare ``"lost"`` (see :func:`task_reason_label` for the task's full text).
    """
    if code == LOST_REASON_CODE:
        return "Lost in transit"
    try:
        return RejectionReason(code).label
    except ValueError:
        return loss_label(code)


def task_reason_label(task: RecollectionTask) -> str:
    """Why the task was opened, as staff read it: "Haemolysed", "Lost: not in the bag at
    receipt"."""
    if task.reason == LOST_REASON_CODE and task.loss_reason is not None:
        loss = LossReason(task.loss_reason)
        if loss.needs_note and task.note.strip():
            # "other" alone says nothing: the note (required for it) is the reason.
            return f"Lost (other): {' '.join(task.note.split())[:OTHER_NOTE_SHOWN]}"
        return f"Lost: {short_label(loss)}"
    return reason_label(task.reason)
