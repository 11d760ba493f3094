"""Frozen DTOs of the custody leg: scans, manifests, reconciliation, timelines, verification.

Minimum necessary: nothing here carries a patient name or date of birth, so courier
screens and manifests can show any of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.manifest import BagId, ManifestStatus, ReceiptOutcome
from labdesk.domain.scan_rules import RECORDED, ScanCode, Severity, severity_of
from labdesk.domain.specimen import SpecimenStatus
from labdesk.domain.transit import TransitFlag


class LabState(StrEnum):
    """Where one manifest line stands at the lab, from the specimen's current custody state."""

    EXPECTED = "expected"
    """On its way (picked up or delivered) and not scanned at the lab yet: missing so far."""
    RECEIVED = "received"
    DAMAGED = "damaged"
    REJECTED = "rejected"
    LOST = "lost"
    RECEIVED_ELSEWHERE = "received_elsewhere"
    """On this manifest, but scanned in at the lab on another one (see ``received_on``)."""
    UNEXPECTED = "unexpected"
    """Received at the lab without being on this manifest."""
    NOT_SHIPPED = "not_shipped"
    """Scanned at the lab although custody says it never left the clinic (a gap)."""


#: Specimen statuses of a tube still on its way to the lab.
ON_THE_WAY = frozenset({SpecimenStatus.IN_TRANSIT, SpecimenStatus.DELIVERED})


@dataclass(frozen=True)
class ManifestRow:
    """One specimen on a live manifest or a receipt reconciliation."""

    specimen_id: int
    accession: str
    container_code: str
    temperature_class: TemperatureClass
    site_code: str
    bag_id: str
    scanned_at: datetime
    status: SpecimenStatus
    expected: bool = True
    lab_outcome: ReceiptOutcome | None = None
    warning: str = ""
    received_on: str = ""
    """The other manifest this specimen was scanned in at the lab on (empty: none)."""

    @property
    def lab_state(self) -> LabState:
        """The line's state, derived from the specimen's status first, then the lab's scan.

        The status is the custody chain's latest word: a tube lost or rejected after its
        line was written, or received on another manifest, never reads "expected".
        """
        if self.status is SpecimenStatus.LOST:
            return LabState.LOST
        if self.status is SpecimenStatus.REJECTED or self.lab_outcome is ReceiptOutcome.REJECTED:
            return LabState.REJECTED
        if self.lab_outcome is ReceiptOutcome.DAMAGED:
            return LabState.DAMAGED
        if not self.expected:
            if self.lab_outcome is ReceiptOutcome.UNEXPECTED:
                return LabState.NOT_SHIPPED
            return LabState.UNEXPECTED
        if self.lab_outcome is ReceiptOutcome.RECEIVED:
            return LabState.RECEIVED
        if self.status in ON_THE_WAY:
            return LabState.EXPECTED
        return LabState.RECEIVED_ELSEWHERE


@dataclass(frozen=True)
class ScanFeedback:
    """What one scan did, for instant on-screen feedback.

    ``rows`` holds the manifest lines the scan added or updated (several for a bag).
    """

    code: ScanCode
    message: str
    hint: str = ""
    accession: str = ""
    rows: tuple[ManifestRow, ...] = ()
    bag: BagId | None = None
    specimen_id: int | None = None

    @property
    def severity(self) -> Severity:
        """How the screen should present it (colour and sound)."""
        return severity_of(self.code)

    @property
    def recorded(self) -> bool:
        """True when the scan appended a custody event."""
        return self.code in RECORDED or (self.code is ScanCode.BAG_OPENED and bool(self.rows))


@dataclass(frozen=True)
class ReadySpecimen:
    """A specimen waiting at a site for the courier."""

    specimen_id: int
    accession: str
    container_code: str
    temperature_class: TemperatureClass
    status: SpecimenStatus
    collected_at: datetime
    bag_id: str = ""


@dataclass(frozen=True)
class RouteInfo:
    """A route a courier can choose."""

    code: str
    name: str
    from_site: str
    to_site: str
    transit_minutes: int


@dataclass(frozen=True)
class ManifestView:
    """A manifest with its lines (and, while open, what is still waiting at the site)."""

    number: str
    status: ManifestStatus
    site_code: str
    site_name: str
    courier: str
    route: RouteInfo | None
    started_at: datetime
    finished_at: datetime | None
    rows: tuple[ManifestRow, ...]
    not_scanned: tuple[ReadySpecimen, ...] = ()

    def counts(self) -> dict[TemperatureClass, int]:
        """Expected specimens per temperature class."""
        counts: dict[TemperatureClass, int] = {}
        for row in self.rows:
            if row.expected:
                counts[row.temperature_class] = counts.get(row.temperature_class, 0) + 1
        return counts


@dataclass(frozen=True)
class Reconciliation:
    """Expected versus received for one manifest at the lab."""

    number: str
    status: ManifestStatus
    rows: tuple[ManifestRow, ...]
    resumed: bool = False
    message: str = ""
    reported_lost: tuple[str, ...] = ()
    """Accessions this close reported lost (empty for any other view)."""

    def _in(self, *states: LabState) -> tuple[ManifestRow, ...]:
        return tuple(r for r in self.rows if r.lab_state in states)

    @property
    def expected(self) -> tuple[ManifestRow, ...]:
        """Rows the courier picked up."""
        return tuple(r for r in self.rows if r.expected)

    @property
    def received(self) -> tuple[ManifestRow, ...]:
        """Expected rows the lab scanned in good order."""
        return self._in(LabState.RECEIVED)

    @property
    def damaged(self) -> tuple[ManifestRow, ...]:
        """Rows received damaged."""
        return self._in(LabState.DAMAGED)

    @property
    def rejected(self) -> tuple[ManifestRow, ...]:
        """Rows the lab rejected."""
        return self._in(LabState.REJECTED)

    @property
    def lost(self) -> tuple[ManifestRow, ...]:
        """Rows whose specimen was reported lost (at this close or before)."""
        return self._in(LabState.LOST)

    @property
    def received_elsewhere(self) -> tuple[ManifestRow, ...]:
        """Expected rows whose specimen the lab scanned in on another manifest."""
        return self._in(LabState.RECEIVED_ELSEWHERE)

    @property
    def missing(self) -> tuple[ManifestRow, ...]:
        """Expected rows still on their way and not scanned: closing reports exactly these lost."""
        return self._in(LabState.EXPECTED)

    @property
    def unexpected(self) -> tuple[ManifestRow, ...]:
        """Rows scanned at the lab that were not on the manifest."""
        return tuple(r for r in self.rows if not r.expected)


@dataclass(frozen=True)
class RejectionResult:
    """A rejection (or the earlier one, when the specimen was already rejected)."""

    accession: str
    reason: str
    task_id: int
    already: bool
    message: str


@dataclass(frozen=True)
class TransitFlagRow:
    """A specimen overdue in transit or past its stability."""

    specimen_id: int
    accession: str
    container_code: str
    temperature_class: TemperatureClass
    site_code: str
    manifest_number: str
    picked_up_at: datetime
    picked_up_by: str
    expected_minutes: int
    stability_deadline: datetime | None
    flags: tuple[TransitFlag, ...]


@dataclass(frozen=True)
class TimelineEntry:
    """One custody event as the timeline shows it."""

    event_id: int
    seq: int
    kind: CustodyEventKind
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    location: str
    temperature_class: TemperatureClass | None
    seal_intact: bool | None
    container_ref: str
    reason: str
    note: str
    verified: bool
    problem: str = ""


@dataclass(frozen=True)
class SpecimenTimeline:
    """Every custody event of one specimen and whether its chains verify."""

    specimen_id: int
    accession: str
    container_code: str
    temperature_class: TemperatureClass
    site_code: str
    status: SpecimenStatus
    collected_at: datetime
    entries: tuple[TimelineEntry, ...]

    @property
    def verified(self) -> bool:
        """True when every event's hashes and links check out."""
        return all(entry.verified for entry in self.entries)


class FindingKind(StrEnum):
    """What the verifier found wrong with the stored events."""

    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"


@dataclass(frozen=True)
class ChainFinding:
    """One tampered, missing or foreign event."""

    kind: FindingKind
    chain: str
    """``specimen`` or ``clinic``."""
    message: str
    event_id: int | None = None
    seq: int | None = None
    specimen_id: int | None = None
    accession: str = ""


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of recomputing every chain."""

    events: int
    specimens: int
    findings: tuple[ChainFinding, ...] = field(default=())
    seconds: float = 0.0
    guards: tuple[str, ...] = field(default=())
    """Append-only triggers missing, disabled or defused (the chains may still verify)."""
    anchored: bool = False
    """True when a head anchored outside the database was checked."""

    @property
    def ok(self) -> bool:
        """True when nothing was modified, deleted or inserted and the guards are in place."""
        return not self.findings and not self.guards


@dataclass(frozen=True)
class RecollectionTaskRow:
    """An open recollection task for the station worklist (ids only, no demographics)."""

    task_id: int
    specimen_id: int
    accession: str
    container_code: str
    patient_id: int
    site_code: str
    reason: str
    reason_label: str
    note: str
    opened_at: datetime
    opened_by: str


@dataclass(frozen=True)
class PickupSite:
    """A site a courier can start a pickup at, with the routes leaving it."""

    code: str
    name: str
    routes: tuple[RouteInfo, ...]
