"""Chain-of-custody events and the transitions they may make."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.errors import CustodyError
from labdesk.domain.specimen import SpecimenStatus


class CustodyEventKind(StrEnum):
    """Every hand-off or state change a specimen goes through."""

    COLLECTED = "collected"
    LABELLED = "labelled"
    VERIFIED = "verified"
    PACKED = "packed"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    RECEIVED = "received"
    REJECTED = "rejected"
    RECOLLECTION_REQUESTED = "recollection_requested"
    LOST = "lost"
    ADDED_ON = "added_on"
    """A test was added to the drawn specimen (the note names it); the status stays."""
    RECOLLECTED = "recollected"
    """The rejected or lost specimen was drawn again (the note names the new one)."""


S = SpecimenStatus
K = CustodyEventKind

# Which event may follow which specimen status, and the status it leads to.
TRANSITIONS: dict[CustodyEventKind, tuple[frozenset[SpecimenStatus | None], SpecimenStatus]] = {
    K.COLLECTED: (frozenset({None}), S.COLLECTED),
    K.LABELLED: (frozenset({S.COLLECTED, S.LABELLED}), S.LABELLED),
    K.VERIFIED: (frozenset({S.LABELLED}), S.VERIFIED),
    K.PACKED: (frozenset({S.VERIFIED}), S.PACKED),
    K.PICKED_UP: (frozenset({S.VERIFIED, S.PACKED}), S.IN_TRANSIT),
    K.DELIVERED: (frozenset({S.IN_TRANSIT}), S.DELIVERED),
    K.RECEIVED: (frozenset({S.IN_TRANSIT, S.DELIVERED}), S.RECEIVED),
    K.REJECTED: (frozenset({S.IN_TRANSIT, S.DELIVERED, S.RECEIVED}), S.REJECTED),
    K.RECOLLECTION_REQUESTED: (frozenset({S.REJECTED, S.LOST}), S.REJECTED),
    K.LOST: (
        frozenset({S.COLLECTED, S.LABELLED, S.VERIFIED, S.PACKED, S.IN_TRANSIT, S.DELIVERED}),
        S.LOST,
    ),
    K.ADDED_ON: (
        frozenset(
            {S.COLLECTED, S.LABELLED, S.VERIFIED, S.PACKED, S.IN_TRANSIT, S.DELIVERED, S.RECEIVED}
        ),
        S.RECEIVED,  # unused: KEEPS_STATUS
    ),
    K.RECOLLECTED: (frozenset({S.REJECTED, S.LOST}), S.REJECTED),  # unused: KEEPS_STATUS
}

KEEPS_STATUS = frozenset({K.ADDED_ON, K.RECOLLECTED})
"""Events recorded on the specimen's chain that leave its status as it is."""


def next_status(current: SpecimenStatus | None, kind: CustodyEventKind) -> SpecimenStatus:
    """Return the status ``kind`` leads to from ``current``.

    ``RECOLLECTION_REQUESTED`` keeps a lost specimen lost; :data:`KEEPS_STATUS` events keep
    any status they are allowed from.

    Raises:
        CustodyError: if the event is not allowed in the current status.
    """
    allowed, target = TRANSITIONS[kind]
    if current not in allowed:
        now = current.value.replace("_", " ") if current else "not yet collected"
        raise CustodyError(
            f"Cannot record '{kind.value.replace('_', ' ')}': the specimen is {now}.",
            hint=_HINTS.get(kind, "Check the specimen's timeline for its last step."),
        )
    if kind is K.RECOLLECTION_REQUESTED and current is S.LOST:
        return S.LOST
    if kind in KEEPS_STATUS and current is not None:
        return current
    return target


_HINTS = {
    K.PICKED_UP: "Label it and scan it back at the station before it is picked up.",
    K.RECEIVED: "A specimen is received once, after a courier picked it up.",
    K.VERIFIED: "Print its label first, then scan the labelled tube.",
    K.REJECTED: "Only a specimen on its way to, or at, the lab can be rejected.",
    K.DELIVERED: "Only a specimen a courier picked up can be delivered.",
    K.PACKED: "Pack a specimen once it is labelled and scanned back.",
    K.ADDED_ON: "A rejected or lost specimen takes no add-on: collect a new one.",
    K.RECOLLECTED: "Only a rejected or lost specimen is recollected.",
}


@dataclass(eq=False, kw_only=True)
class CustodyEvent:
    """One append-only entry in a specimen's chain of custody.

    ``prev_hash``/``hash`` link the specimen's own chain; ``chain_prev_hash``/``chain_hash``
    link the clinic-wide chain over all events.
    """

    specimen_id: int
    seq: int
    kind: CustodyEventKind
    actor_id: int
    occurred_at: datetime
    recorded_at: datetime
    location: str
    temperature_class: TemperatureClass | None = None
    seal_intact: bool | None = None
    container_ref: str = ""
    reason: str = ""
    note: str = ""
    prev_hash: str = ""
    hash: str = ""
    chain_prev_hash: str = ""
    chain_hash: str = ""
    id: int | None = None

    def content(self) -> dict[str, object]:
        """The fields covered by the hashes."""
        return {
            "specimen_id": self.specimen_id,
            "seq": self.seq,
            "kind": self.kind,
            "actor_id": self.actor_id,
            "occurred_at": self.occurred_at,
            "recorded_at": self.recorded_at,
            "location": self.location,
            "temperature_class": self.temperature_class,
            "seal_intact": self.seal_intact,
            "container_ref": self.container_ref,
            "reason": self.reason,
            "note": self.note,
        }
