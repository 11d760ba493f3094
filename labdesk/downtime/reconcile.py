"""Downtime reconciliation (issue 12 item 5): conflicts are never merged silently.

A command a station did offline that the server refuses on replay (the same ordered test
collected at two stations, an order cancelled on the server meanwhile, a patient changed
on the server, a label printed for a test now cancelled) becomes a *reconciliation item*:
what the station did, what the server had, and the resolutions a person may choose. The
station's command is never deleted; resolving writes who chose what, with a note, and an
audit entry.

The replay calls :func:`record_conflict` in the transaction that records the refusal;
:func:`backfill` creates items for refused commands recorded before that call existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from labdesk.adapters.downtime import reconcile_repo as repo
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import LabdeskError
from labdesk.domain.permissions import Permission, require
from labdesk.kernel.audit import record_audit
from labdesk.kernel.messagebus import Command, HandlerContext, handler
from labdesk.ports import UnitOfWork


class ConflictKind(StrEnum):
    """What kind of disagreement between a station's offline work and the server."""

    DOUBLE_COLLECTION = "double_collection"
    ORDER_CANCELLED = "order_cancelled"
    PATIENT_CHANGED = "patient_changed"
    LABEL_FOR_CANCELLED = "label_for_cancelled"
    OFFLINE_ORDER = "offline_order"
    """Not a refusal: an order placed offline, applied, and to be checked by a person."""
    ACCESSIONS_DIFFER = "accessions_differ"
    """The server had the collection from online (its answer was lost) under its own
    accessions; the tubes carry the labels printed offline from the station's block."""
    OTHER = "other"


class Resolution(StrEnum):
    """A decision a person takes on one conflict."""

    KEEP_SERVER_DISCARD_OFFLINE = "keep_server_discard_offline"
    RECORD_ADDITIONAL_SPECIMEN = "record_additional_specimen"
    CANCEL_AND_RECOLLECT = "cancel_and_recollect"
    DISCARD_OFFLINE_TUBE = "discard_offline_tube"
    CONFIRM_PATIENT_DETAILS = "confirm_patient_details"
    RECOLLECT = "recollect"
    DISCARD_LABEL = "discard_label"
    ORDER_CHECKED = "order_checked"
    ORDER_TO_CANCEL = "order_to_cancel"
    RELABELLED = "relabelled"
    ACKNOWLEDGE = "acknowledge"


RESOLUTION_LABELS: dict[Resolution, str] = {
    Resolution.KEEP_SERVER_DISCARD_OFFLINE: (
        "Keep the server's collection; discard or recollect the offline tube"
    ),
    Resolution.RECORD_ADDITIONAL_SPECIMEN: "Record the offline tube as an additional specimen",
    Resolution.CANCEL_AND_RECOLLECT: "Keep the cancellation; recollect if re-ordered",
    Resolution.DISCARD_OFFLINE_TUBE: "Keep the cancellation; discard the offline tube",
    Resolution.CONFIRM_PATIENT_DETAILS: "Patient details confirmed against the tube",
    Resolution.RECOLLECT: "Details do not match: recollect",
    Resolution.DISCARD_LABEL: "Discard the label printed offline",
    Resolution.ORDER_CHECKED: "Order placed offline checked against its requisition: keep it",
    Resolution.ORDER_TO_CANCEL: "Order placed offline is wrong: cancel it on the station",
    Resolution.RELABELLED: (
        "Tubes relabelled with the server's accessions; the offline labels destroyed"
    ),
    Resolution.ACKNOWLEDGE: "Reviewed; no further action",
}
"""What each resolution means, in the words the worklist shows."""

ALLOWED: dict[ConflictKind, tuple[Resolution, ...]] = {
    ConflictKind.DOUBLE_COLLECTION: (
        Resolution.KEEP_SERVER_DISCARD_OFFLINE,
        Resolution.RECORD_ADDITIONAL_SPECIMEN,
    ),
    ConflictKind.ORDER_CANCELLED: (
        Resolution.CANCEL_AND_RECOLLECT,
        Resolution.DISCARD_OFFLINE_TUBE,
    ),
    ConflictKind.PATIENT_CHANGED: (
        Resolution.CONFIRM_PATIENT_DETAILS,
        Resolution.RECOLLECT,
    ),
    ConflictKind.LABEL_FOR_CANCELLED: (Resolution.DISCARD_LABEL,),
    ConflictKind.OFFLINE_ORDER: (Resolution.ORDER_CHECKED, Resolution.ORDER_TO_CANCEL),
    ConflictKind.ACCESSIONS_DIFFER: (Resolution.RELABELLED,),
    ConflictKind.OTHER: (Resolution.ACKNOWLEDGE,),
}
"""The resolutions a person may choose for each kind (anything else is refused)."""

_PRINT_COMMANDS = ("Print", "Label", "Reprint")

RESOLVE_PERMISSION = Permission.MANAGE_STATIONS
"""What resolving a conflict needs (the handler enforces it; screens read it to explain)."""

REVIEW_COMMANDS: frozenset[str] = frozenset({"PlaceOrder"})
"""Offline commands a person reviews even when the server applied them (item 3: an order
placed offline is allowed and flagged for review)."""


def command_words(command: str) -> str:
    """A command's name as the worklist says it: ``CollectSpecimens`` -> "Collect specimens"."""
    out = "".join(f" {ch.lower()}" if ch.isupper() else ch for ch in command).strip()
    return out[:1].upper() + out[1:]


def classify(command: str, reason: str) -> ConflictKind:
    """Tell the kind of conflict from the command's name and the server's refusal text.

    The refusal reason is the server's :class:`LabdeskError` message; its wording is the
    only thing the record of a refused replay keeps, so classification is by keywords and
    falls back to :attr:`ConflictKind.OTHER` (still listed, still needs a person).
    """
    text = reason.lower()
    printing = any(word in command for word in _PRINT_COMMANDS)
    if "cancel" in text:
        return ConflictKind.LABEL_FOR_CANCELLED if printing else ConflictKind.ORDER_CANCELLED
    if "collected" in text and "already" in text:
        return ConflictKind.DOUBLE_COLLECTION
    if "patient" in text and ("changed" in text or "merged" in text or "updated" in text):
        return ConflictKind.PATIENT_CHANGED
    return ConflictKind.OTHER


@dataclass(frozen=True, kw_only=True)
class ConflictRefs:
    """The records a refused command was about, when the replay knows them."""

    specimen_id: int | None = None
    ordered_test_id: int | None = None
    patient_id: int | None = None
    actor_id: int | None = None
    summary: str = ""


@dataclass(frozen=True, kw_only=True)
class ReconciliationItem:
    """One conflict as the worklist shows it."""

    id: int
    idempotency_key: str
    station: str
    command: str
    kind: ConflictKind
    specimen_id: int | None
    ordered_test_id: int | None
    patient_id: int | None
    happened_at: datetime
    actor_id: int | None
    station_summary: str
    server_reason: str
    state: str
    resolution: Resolution | None
    resolved_by: int | None
    resolved_at: datetime | None
    note: str

    @property
    def allowed(self) -> tuple[Resolution, ...]:
        """The resolutions a person may choose for this item."""
        return ALLOWED[self.kind]

    @property
    def is_open(self) -> bool:
        """Still waiting for a person's decision."""
        return self.state == repo.OPEN


class ReconciliationError(LabdeskError):
    """A resolution the worklist cannot record."""


def _item(row: dict[str, Any]) -> ReconciliationItem:
    return ReconciliationItem(
        id=int(row["id"]),
        idempotency_key=str(row["idempotency_key"]),
        station=str(row["station"]),
        command=str(row["command"]),
        kind=ConflictKind(row["kind"]),
        specimen_id=row["specimen_id"],
        ordered_test_id=row["ordered_test_id"],
        patient_id=row["patient_id"],
        happened_at=row["happened_at"],
        actor_id=row["actor_id"],
        station_summary=str(row["station_summary"]),
        server_reason=str(row["server_reason"]),
        state=str(row["state"]),
        resolution=Resolution(row["resolution"]) if row["resolution"] else None,
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
        note=str(row["note"] or ""),
    )


def record_conflict(
    uow: UnitOfWork,
    clock: Clock,
    *,
    idempotency_key: str,
    station: str,
    command: str,
    happened_at: datetime,
    reason: str,
    refs: ConflictRefs | None = None,
    kind: ConflictKind | None = None,
) -> int | None:
    """Open a reconciliation item for a refused replay (caller commits; idempotent).

    ``kind``: given for an applied command to review (:data:`REVIEW_COMMANDS`); None:
    told from the refusal.

    Call it in the transaction that writes the ``replayed_commands`` row with outcome
    ``refused`` (the item references that row). Returns the new item's id, or None when
    the command already has one (a second replay of the same refused command).
    """
    refs = refs or ConflictRefs()
    return repo.insert_item(
        uow.session,
        {
            "idempotency_key": idempotency_key,
            "station": station,
            "command": command,
            "kind": (kind or classify(command, reason)).value,
            "specimen_id": refs.specimen_id,
            "ordered_test_id": refs.ordered_test_id,
            "patient_id": refs.patient_id,
            "happened_at": happened_at,
            "actor_id": refs.actor_id,
            "station_summary": refs.summary or f"{command_words(command)} at {station}",
            "server_reason": reason,
            "state": repo.OPEN,
            "recorded_at": clock.now(),
        },
    )


def backfill(uows: UnitOfWorkFactory, clock: Clock) -> int:
    """Open items for refused replays that have none yet; return how many were opened."""
    with uows() as uow:
        opened = 0
        for row in repo.refused_without_item(uow.session):
            new = record_conflict(
                uow,
                clock,
                idempotency_key=row["idempotency_key"],
                station=row["station"],
                command=row["command"],
                happened_at=row["happened_at"],
                reason=str(row["reason"] or ""),
            )
            opened += new is not None
        uow.commit()
    return opened


def list_items(uows: UnitOfWorkFactory, *, open_only: bool = True) -> list[ReconciliationItem]:
    """The worklist: open items (or every item), oldest station time first."""
    with uows() as uow:
        return items_in(uow, open_only=open_only)


def items_in(
    uow: UnitOfWork, *, open_only: bool = True, station: str | None = None
) -> list[ReconciliationItem]:
    """:func:`list_items` in the caller's unit of work (the UI's background queries).

    ``station``: only the items of that station's offline work (the station's own view of
    the worklist); None: every station's (the Admin worklist).
    """
    rows = repo.items(uow.session, state=repo.OPEN if open_only else None, station=station)
    return [_item(row) for row in rows]


@dataclass(frozen=True, kw_only=True)
class ResolveConflict(Command[ReconciliationItem]):
    """Record a person's decision on one conflict (audited; the station's command is kept).

    Needs :attr:`Permission.MANAGE_STATIONS`. A resolution not allowed for the item's kind,
    or an item already resolved, is refused with a hint.
    """

    item_id: int
    resolution: Resolution
    note: str = ""


@handler(ResolveConflict)
def _resolve(command: ResolveConflict, ctx: HandlerContext) -> ReconciliationItem:
    actor = ctx.user
    require(actor.role, RESOLVE_PERMISSION, emergency=actor.emergency)
    session = ctx.uow.session
    row = repo.item_for_update(session, command.item_id)
    if row is None:
        raise ReconciliationError(
            f"No reconciliation item {command.item_id}.",
            hint="Refresh the worklist; it may have been resolved elsewhere.",
        )
    item = _item(row)
    if not item.is_open:
        raise ReconciliationError(
            f"Reconciliation item {item.id} is already resolved ({item.resolution}).",
            hint="Refresh the worklist.",
        )
    if command.resolution not in item.allowed:
        allowed = ", ".join(r.value for r in item.allowed)
        raise ReconciliationError(
            f"'{command.resolution.value}' is not a resolution for a {item.kind.value} conflict.",
            hint=f"Choose one of: {allowed}.",
        )
    now = ctx.clock.now()
    note = " ".join(command.note.split())
    repo.mark_resolved(
        session,
        item.id,
        resolution=command.resolution.value,
        resolved_by=actor.id,
        resolved_at=now,
        note=note,
    )
    record_audit(
        ctx.uow,
        ctx.clock,
        action=AuditAction.REVIEW,
        entity="reconciliation_item",
        entity_id=item.id,
        detail=(
            f"resolved {item.kind.value} key={item.idempotency_key} "
            f"station={item.station} resolution={command.resolution.value}"
        ),
        actor=actor,
    )
    resolved = repo.item_for_update(session, item.id)
    assert resolved is not None
    return _item(resolved)
