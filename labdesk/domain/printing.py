"""Label content and persisted print jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, NamedTuple

from labdesk.domain.errors import LabdeskError


class PrintJobStatus(StrEnum):
    """Spooler lifecycle of one job."""

    QUEUED = "queued"
    SENT = "sent"
    DONE = "done"
    FAILED = "failed"


class Delivery(StrEnum):
    """What a failed send means for the job, decided by the printer layer."""

    RETRY = "retry"
    """Nothing reached the printer (offline, connection refused): send it again later."""
    FAILED = "failed"
    """Waiting will not help (bad address, job refused): a person must act."""
    UNCERTAIN = "uncertain"
    """Bytes went out but the printer did not confirm the job (the link broke off midway,
    or no healthy status after it): the label may have printed, so it is never resent."""


CHECK_THE_TUBE = (
    "Check the tube, mark printed or reprint: the label may be missing, partial or fine."
)
"""What the MA is told to do about an unconfirmed job (the station offers both actions)."""


class PrintDeliveryError(LabdeskError):
    """Base of every error a printer raises on purpose; ``delivery`` tells the spooler why."""

    delivery: ClassVar[Delivery] = Delivery.FAILED


class PrintJobKind(StrEnum):
    """What is being printed."""

    LABEL = "label"
    DOCUMENT = "document"
    TEST = "test"


@dataclass(frozen=True, kw_only=True)
class LabelContent:
    """Everything printed on one specimen label, frozen at first print for exact reprints."""

    accession: str
    family_name: str
    given_name: str
    birth_date: str
    mrn: str
    collected_at: str
    collector_initials: str
    container: str
    cap_colour: str
    tests: tuple[str, ...]
    specimen_type: str
    stat: bool = False
    reprint_count: int = 0
    aliquot: str = ""


@dataclass(eq=False, kw_only=True)
class PrintJob:
    """A persisted print job; ``payload`` is the exact bytes sent to the printer."""

    kind: PrintJobKind
    printer_uri: str
    station_code: str
    created_at: datetime
    content_json: str = ""
    payload: bytes = field(default=b"", repr=False)
    preview_png: bytes | None = field(default=None, repr=False)
    specimen_id: int | None = None
    status: PrintJobStatus = PrintJobStatus.QUEUED
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    reprint_of_id: int | None = None
    reprint_reason: str = ""
    requested_by_id: int | None = None
    id: int | None = None


class ClaimedJob(NamedTuple):
    """A job one spooler worker claimed (queued → sent), with what to send."""

    id: int
    printer_uri: str
    kind: PrintJobKind
    attempts: int
    payload: bytes
    preview_png: bytes | None
