"""The interface worklists: dead letters and unmatched results, and what people do with them.

Every problem the interface meets ends up in one of two lists, each row with its reason:
refused messages (dead letters, for whoever runs the interface) and result groups that
matched no ordered test (for clinicians, who match them by hand or dismiss them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.hl7 import MessageStatus, UnmatchedResult, UnmatchedStatus
from labdesk.domain.permissions import Permission
from labdesk.hl7.apply_results import Match, apply_group
from labdesk.hl7.catalog_index import CatalogIndex
from labdesk.hl7.parse import Hl7Error, parse_message
from labdesk.hl7.semantics import read_groups
from labdesk.ports import UnitOfWork
from labdesk.services.audit import record_audit
from labdesk.services.dto import SignedInUser, authorize


@dataclass(frozen=True)
class DeadLetterRow:
    """A refused message as the worklist shows it (no patient data)."""

    id: int
    received_at: datetime
    source: str
    control_id: str
    message_type: str
    status: MessageStatus
    ack_code: str
    error: str
    resolved: bool


@dataclass(frozen=True)
class UnmatchedRow:
    """An unmatched result group as the worklist shows it."""

    id: int
    message_id: int
    received_at: datetime
    reason: str
    patient_mrn: str
    patient_name: str
    patient_birth_date: str
    placer_order_number: str
    accession: str
    test_code: str
    test_name: str
    status: UnmatchedStatus

    @classmethod
    def of(cls, u: UnmatchedResult) -> UnmatchedRow:
        """Build from the stored row."""
        assert u.id is not None
        return cls(
            u.id,
            u.message_id,
            u.received_at,
            u.reason,
            u.patient_mrn,
            u.patient_name,
            u.patient_birth_date,
            u.placer_order_number,
            u.accession,
            u.test_code,
            u.test_name,
            u.status,
        )


def list_dead_letters(
    uow: UnitOfWork, actor: SignedInUser, *, include_resolved: bool = False
) -> list[DeadLetterRow]:
    """Refused messages, newest first."""
    authorize(actor, Permission.IMPORT_MESSAGES)
    return [
        DeadLetterRow(
            m.id or 0,
            m.received_at,
            m.source,
            m.control_id,
            m.message_type,
            m.status,
            m.ack_code.value,
            m.error,
            m.resolved_at is not None,
        )
        for m in uow.hl7.dead_letters(include_resolved=include_resolved)
    ]


def resolve_dead_letter(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, message_id: int, note: str
) -> None:
    """Mark a dead letter as dealt with (e.g. "sender fixed and resent"); commits."""
    authorize(actor, Permission.IMPORT_MESSAGES)
    message = uow.hl7.message(message_id)
    if message is None or not message.status.is_dead_letter:
        raise NotFound(f"No refused message {message_id}.")
    if not note.strip():
        raise ValidationError("Say how the message was dealt with.", hint="Type a short note.")
    message.resolved_at = clock.now()
    message.resolved_by_id = actor.id
    message.resolution = note.strip()[:200]
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="hl7_message",
        entity_id=message_id,
        user_id=actor.id,
        detail="dead letter resolved",
    )
    uow.commit()


def list_unmatched(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, *, include_closed: bool = False
) -> list[UnmatchedRow]:
    """Unmatched result groups, oldest first (viewing is audited: they name patients)."""
    authorize(actor, Permission.MATCH_RESULTS)
    rows = uow.hl7.unmatched_list(None if include_closed else UnmatchedStatus.OPEN)
    record_audit(
        uow,
        clock,
        action=AuditAction.VIEW,
        entity="unmatched_results",
        entity_id="list",
        user_id=actor.id,
        detail=f"{len(rows)} rows",
    )
    uow.commit()
    return [UnmatchedRow.of(u) for u in rows]


def match_unmatched(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    unmatched_id: int,
    ordered_test_id: int,
    *,
    timezone: str = "America/New_York",
) -> int:
    """Attach an unmatched result group to an ordered test by hand; returns results stored.

    The group is applied exactly as an automatic match would be (statuses, corrections,
    flags). The test must belong to the patient the result names. Commits.

    Raises:
        NotFound: for an unknown or already closed item, or an unknown ordered test.
        ValidationError: when the ordered test belongs to another patient.
    """
    authorize(actor, Permission.MATCH_RESULTS)
    item = _open_item(uow, unmatched_id)
    ot = uow.hl7.ordered_test(ordered_test_id)
    if ot is None:
        raise NotFound(f"Ordered test {ordered_test_id} does not exist.")
    order = uow.orders.get(ot.order_id)
    patient = uow.patients.get(order.patient_id) if order else None
    if patient is None or patient.mrn != item.patient_mrn:
        raise ValidationError(
            f"The result names MRN {item.patient_mrn}; the chosen test belongs to another patient.",
            hint="Pick a test of that patient, or ask the lab to correct and resend the result.",
        )
    message = uow.hl7.message(item.message_id)
    assert message is not None
    try:
        groups = read_groups(parse_message(message.raw), ZoneInfo(timezone))
    except Hl7Error as exc:  # the stored message was readable when it arrived
        raise ValidationError(f"The stored message cannot be read again: {exc.reason}") from exc
    group = groups[item.group_index]
    now = clock.now()
    added = apply_group(
        uow,
        CatalogIndex.load(uow),
        Match(ot, ot.specimen_id),
        group,
        control_id=message.control_id,
        now=now,
    )
    item.status = UnmatchedStatus.MATCHED
    item.matched_ordered_test_id = ordered_test_id
    item.resolved_at = now
    item.resolved_by_id = actor.id
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="unmatched_result",
        entity_id=unmatched_id,
        user_id=actor.id,
        detail=f"matched to ordered test {ordered_test_id}",
    )
    uow.commit()
    return added


def dismiss_unmatched(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, unmatched_id: int, reason: str
) -> None:
    """Close an unmatched item without attaching it (e.g. not our patient); commits."""
    authorize(actor, Permission.MATCH_RESULTS)
    if not reason.strip():
        raise ValidationError("Give the reason for dismissing the result.")
    item = _open_item(uow, unmatched_id)
    item.status = UnmatchedStatus.DISMISSED
    item.resolved_at = clock.now()
    item.resolved_by_id = actor.id
    item.reason = f"{item.reason} | dismissed: {reason.strip()}"[:400]
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="unmatched_result",
        entity_id=unmatched_id,
        user_id=actor.id,
        detail="dismissed",
    )
    uow.commit()


def count_open_unmatched(uow: UnitOfWork) -> int:
    """Open unmatched items (for a status bar or the overdue counts)."""
    return len(uow.hl7.unmatched_list(UnmatchedStatus.OPEN, limit=100_000))


def _open_item(uow: UnitOfWork, unmatched_id: int) -> UnmatchedResult:
    item = uow.hl7.unmatched(unmatched_id)
    if item is None or item.status is not UnmatchedStatus.OPEN:
        raise NotFound(f"No open unmatched result {unmatched_id}.")
    return item
