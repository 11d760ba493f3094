"""The interface worklists: dead letters and unmatched results, and what people do with them.

Every problem the interface meets ends up in one of two lists, each row with its reason:
refused messages (dead letters, for whoever runs the interface) and result groups that
matched no ordered test (for clinicians, who match them by hand or dismiss them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from labdesk.domain import lifecycle
from labdesk.domain.accession import validate_accession
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.hl7 import MessageStatus, UnmatchedResult, UnmatchedStatus
from labdesk.domain.order import TestStatus
from labdesk.domain.permissions import Permission
from labdesk.hl7.parse import Hl7Error, parse_message
from labdesk.hl7.semantics import read_groups
from labdesk.interface.apply_results import Match, apply_group
from labdesk.interface.catalog_index import CatalogIndex
from labdesk.interface.lookup import Lookup
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork


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
    discrepancy_test_id: int | None = None
    """The rejected or lost test a result discrepancy names (None: an unmatched result)."""

    @property
    def is_discrepancy(self) -> bool:
        """True for a result kept aside because the lab rejected or lost its specimen."""
        return self.discrepancy_test_id is not None

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
            u.discrepancy_test_id,
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
    flags). The test must belong to the patient the result names. A test the lab rejected or
    lost (a result discrepancy), or a cancelled one, takes the result by this person's
    decision (:attr:`~labdesk.domain.lifecycle.TestEvent.DISCREPANCY_ACCEPTED`, audited).
    Closing the row clears the board's discrepancy flag. Commits.

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
    find = Lookup(uow)
    overridden = ot.status
    if not lifecycle.accepts_result(ot.status):  # rejected, lost or cancelled: a person decides
        find.move(ot, lifecycle.TestEvent.DISCREPANCY_ACCEPTED, now)
    added = apply_group(
        uow,
        CatalogIndex.load(uow),
        Match(ot, ot.specimen_id),
        group,
        control_id=message.control_id,
        now=now,
        find=find,
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
        detail=f"matched to ordered test {ordered_test_id}"
        + ("" if ot.status is overridden else f", which was {overridden.value}: result accepted"),
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
        detail="dismissed"
        + (
            f"; ordered test {item.discrepancy_test_id} keeps the lab's rejection or loss"
            if item.discrepancy_test_id is not None
            else ""
        ),
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


# ---------------------------------------------------------------- matching by hand, on screen


@dataclass(frozen=True)
class MatchCandidate:
    """An ordered test of the result's patient that a person may match the result to."""

    ordered_test_id: int
    placer_order_number: str
    ordered_at: datetime
    test_code: str
    test_name: str
    accession: str
    """The specimen carrying it ('' when none was drawn here)."""
    status: TestStatus
    named: bool
    """True for the test the result itself names (a result discrepancy's test)."""


def match_candidates(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, unmatched_id: int
) -> list[MatchCandidate]:
    """The open tests of the patient an unmatched result names, newest order first.

    The patient is the one whose MRN PID-3 carried; a discrepancy's own test is listed even
    though it is rejected or lost. Viewing is audited (the list names the patient's orders).

    Raises:
        NotFound: for an unknown or closed item.
    """
    authorize(actor, Permission.MATCH_RESULTS)
    item = _open_item(uow, unmatched_id)
    patient = uow.patients.by_mrn(item.patient_mrn) if item.patient_mrn else None
    if patient is None or patient.id is None:
        return []
    orders = {o.id: o for o in uow.orders.active_for_patient(patient.id) if o.id is not None}
    catalog = CatalogIndex.load(uow)
    found: list[MatchCandidate] = []
    for ot in uow.orders.tests_for_orders(list(orders)):
        named = ot.id == item.discrepancy_test_id
        if ot.id is None or not (ot.status.is_open or named):
            continue
        order = orders[ot.order_id]
        specimen = uow.specimens.get(ot.specimen_id) if ot.specimen_id is not None else None
        entry = catalog.find(ot.test_code)
        found.append(
            MatchCandidate(
                ot.id,
                order.placer_order_number,
                order.ordered_at,
                ot.test_code,
                entry.name if entry is not None else ot.test_code,
                specimen.accession if specimen is not None else "",
                ot.status,
                named,
            )
        )
    record_audit(
        uow,
        clock,
        action=AuditAction.VIEW,
        entity="unmatched_result",
        entity_id=unmatched_id,
        user_id=actor.id,
        detail=f"{len(found)} candidate tests of the patient",
    )
    uow.commit()
    return sorted(found, key=lambda c: (not c.named, -c.ordered_at.timestamp(), c.ordered_test_id))


def match_unmatched_by_accession(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    unmatched_id: int,
    accession: str,
    test_code: str,
    *,
    timezone: str = "America/New_York",
) -> int:
    """Match an unmatched result to the test ``test_code`` on specimen ``accession``.

    For a test the candidate list does not show (a cancelled or acknowledged one): the same
    rules as :func:`match_unmatched` apply once the test is found. Commits.

    Raises:
        InvalidAccession: for text that is not an accession ID.
        NotFound: no such specimen, or no such test on it.
        ValidationError: the test code is not in the catalog, or the test belongs to
            another patient.
    """
    authorize(actor, Permission.MATCH_RESULTS)
    specimen = uow.specimens.by_accession(validate_accession(accession))
    if specimen is None or specimen.id is None:
        raise NotFound(
            f"No specimen {accession.strip()} exists.",
            hint="Check the accession ID on the label or in the lab's report.",
        )
    entry = CatalogIndex.load(uow).find(test_code.strip().upper(), test_code.strip())
    if entry is None:
        raise ValidationError(
            f"Test '{test_code.strip()}' is not in the catalog.",
            hint="Type the catalog code (e.g. K) or the LOINC code of the test.",
        )
    tests = [t for t in uow.orders.tests_for_specimen(specimen.id) if t.test_code == entry.code]
    live = [t for t in tests if t.status is not TestStatus.CANCELLED] or tests
    if len(live) != 1 or live[0].id is None:
        raise NotFound(
            f"Specimen {specimen.accession} carries {len(live) or 'no'} {entry.code} test(s).",
            hint="Pick the test from the list instead.",
        )
    return match_unmatched(uow, clock, actor, unmatched_id, live[0].id, timezone=timezone)
