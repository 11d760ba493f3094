"""Coded reasons for a specimen reported lost (issue 13 item 2: a loss needs a coded reason)."""

from __future__ import annotations

from enum import StrEnum

from labdesk.domain.errors import ValidationError

NOTE_MAX = 400


class LossReason(StrEnum):
    """Why a specimen never reached the lab, or reached it unusable on the way.

    The values are stored on the lost custody event (its ``reason``) and on the recollection
    task (``loss_reason``); they never collide with a :class:`RejectionReason` value.
    """

    NOT_IN_BAG = "not_in_bag"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    TEMPERATURE_EXCURSION = "temperature_excursion"
    COURIER_DELAY = "courier_delay"
    MISDELIVERED = "misdelivered"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Text shown to staff."""
        return _LABELS[self]

    @property
    def needs_note(self) -> bool:
        """True when the code alone says nothing (OTHER): a note must say what happened."""
        return self is LossReason.OTHER


_LABELS = {
    LossReason.NOT_IN_BAG: "Not in the bag at receipt",
    LossReason.DAMAGED_IN_TRANSIT: "Broken or leaking in transit",
    LossReason.TEMPERATURE_EXCURSION: "Transport temperature out of range",
    LossReason.COURIER_DELAY: "Courier delay beyond stability",
    LossReason.MISDELIVERED: "Misdelivered (sent to the wrong place)",
    LossReason.OTHER: "Other (note required)",
}


def parse_loss_reason(code: str | LossReason) -> LossReason:
    """The loss reason of a code (as typed on the command line or stored).

    Raises:
        ValidationError: naming the codes, when ``code`` is not one of them.
    """
    try:
        return LossReason(str(code).strip().lower())
    except ValueError:
        raise ValidationError(
            f"'{str(code).strip()[:40]}' is not a loss reason.",
            hint="Use one of: " + ", ".join(r.value for r in LossReason) + ".",
        ) from None


def checked_loss(code: str | LossReason, note: str) -> tuple[LossReason, str]:
    """The coded reason and the cleaned note of a loss report.

    Raises:
        ValidationError: an unknown code, or OTHER without a note.
    """
    reason = parse_loss_reason(code)
    note = " ".join(note.split())[:NOTE_MAX]
    if reason.needs_note and not note:
        raise ValidationError(
            "A loss coded 'other' needs a note saying what happened.",
            hint="E.g. 'tube dropped in the car park', or pick a more precise reason.",
        )
    return reason, note


def short_label(reason: LossReason) -> str:
    """The label in lower case for a sentence ("lost: not in the bag at receipt")."""
    if reason is LossReason.OTHER:
        return "other"
    return reason.label[:1].lower() + reason.label[1:]


def loss_label(code: str) -> str:
    """Human text of a stored loss reason; text recorded before codes existed passes through."""
    try:
        return LossReason(code).label
    except ValueError:
        return code
