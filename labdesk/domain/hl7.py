"""HL7 v2 interface records: received messages, unmatched results and the outbound queue.

Every frame that reaches LabDesk (over MLLP or from a file) is kept as an
:class:`InboundMessage` with its raw text, whatever happened to it; the *dead letters* are the
ones refused (``ERROR``/``REJECTED``) and not yet resolved. A result that matches no ordered
test becomes an :class:`UnmatchedResult` (one per OBR group) until someone matches or
dismisses it. Collection details for the lab wait in :class:`OutboundMessage` rows until the
lab acknowledges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MessageStatus(StrEnum):
    """What became of one received message."""

    PROCESSED = "processed"
    """Applied and acknowledged with AA."""
    DUPLICATE = "duplicate"
    """Same sender and MSH-10 as an earlier message: acknowledged with AA, not applied again."""
    ERROR = "error"
    """Content error: acknowledged with AE, kept as a dead letter."""
    REJECTED = "rejected"
    """Not acceptable at all (garbage, unsupported type or version): AR, dead letter."""

    @property
    def is_dead_letter(self) -> bool:
        """True when the message was refused and waits for someone to look at it."""
        return self in {MessageStatus.ERROR, MessageStatus.REJECTED}


class AckCode(StrEnum):
    """HL7 table 0008, original mode."""

    ACCEPT = "AA"
    ERROR = "AE"
    REJECT = "AR"


@dataclass(eq=False, kw_only=True)
class InboundMessage:
    """One received message (or unreadable frame), kept byte-for-byte as text."""

    control_id: str
    sender: str
    message_type: str
    received_at: datetime
    raw: str
    status: MessageStatus
    source: str
    """Where it came from: ``mllp:HOST:PORT`` or ``file:NAME``."""
    ack_code: AckCode
    error: str = ""
    version: str = ""
    duplicate_of_id: int | None = None
    resolved_at: datetime | None = None
    resolved_by_id: int | None = None
    resolution: str = ""
    id: int | None = None


class UnmatchedStatus(StrEnum):
    """Where an unmatched result stands."""

    OPEN = "open"
    MATCHED = "matched"
    DISMISSED = "dismissed"


@dataclass(eq=False, kw_only=True)
class UnmatchedResult:
    """One OBR group of a result message that matched no ordered test, with why.

    The observations stay in the stored message (``message_id``, ``group_index``), so a
    manual match applies them with exactly the rules an automatic match would.
    """

    message_id: int
    group_index: int
    received_at: datetime
    reason: str
    patient_mrn: str = ""
    patient_name: str = ""
    patient_birth_date: str = ""
    placer_order_number: str = ""
    accession: str = ""
    test_code: str = ""
    test_name: str = ""
    status: UnmatchedStatus = UnmatchedStatus.OPEN
    matched_ordered_test_id: int | None = None
    resolved_at: datetime | None = None
    resolved_by_id: int | None = None
    discrepancy_test_id: int | None = None
    """Set for a result on a specimen the lab rejected or reported lost: the ordered test it
    names. While the row is open the board flags that test (a result discrepancy)."""
    id: int | None = None


class OutboundStatus(StrEnum):
    """Delivery state of a queued outbound message."""

    PENDING = "pending"
    """Waiting for its next attempt (``next_attempt_at``)."""
    SENT = "sent"
    """The lab acknowledged it with AA (or CA)."""
    REJECTED = "rejected"
    """The lab answered AR: retrying cannot help; someone must look at it."""
    FAILED = "failed"
    """Gave up after the maximum number of attempts."""


@dataclass(eq=False, kw_only=True)
class OutboundMessage:
    """A message for the lab, persisted before it is sent and kept after."""

    control_id: str
    message_type: str
    specimen_key: str
    """Accession IDs of the specimens it carries, sorted and comma-separated."""
    payload: str
    status: OutboundStatus
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    last_error: str = ""
    ack_code: str = ""
    sent_at: datetime | None = None
    id: int | None = None
