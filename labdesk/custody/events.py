"""Recording chain-of-custody events with their hash links, and the hand-offs around them.

Every event is appended under two locks taken in the same order by every writer: the
specimen's row (``SELECT ... FOR UPDATE``), then the clinic-wide chain (a counter row), so
two workstations never interleave one specimen's events or the clinic chain's links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from labdesk.domain import lifecycle
from labdesk.domain.audit import AuditAction
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import Clock, ensure_utc
from labdesk.domain.custody import CustodyEvent, CustodyEventKind, next_status
from labdesk.domain.errors import CustodyError, NotFound, PermissionDenied, ValidationError
from labdesk.domain.hashchain import GENESIS, link_hash
from labdesk.domain.lifecycle import SPECIMEN_EVENTS
from labdesk.domain.loss import LossReason, checked_loss
from labdesk.domain.manifest import parse_bag_id
from labdesk.domain.order import TestStatus
from labdesk.domain.permissions import Permission
from labdesk.domain.recollection import LOST_REASON_CODE, RecollectionTask
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.domain.timefmt import format_local
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork

K = CustodyEventKind


@dataclass(frozen=True)
class Handoff:
    """What a custody event records besides its kind."""

    actor_id: int
    location: str
    occurred_at: datetime | None = None
    temperature_class: TemperatureClass | None = None
    seal_intact: bool | None = None
    container_ref: str = ""
    reason: str = ""
    note: str = ""


def record_event(
    uow: UnitOfWork, clock: Clock, specimen: Specimen, kind: CustodyEventKind, handoff: Handoff
) -> CustodyEvent:
    """Append a custody event and move the specimen's status (caller commits).

    The specimen's row is locked and re-read first, so the status checked is the one
    committed by any other workstation. The specimen's own chain and the clinic-wide chain
    both link to their previous hash.

    Raises:
        CustodyError: if the transition is not allowed from the specimen's status.
        NotFound: if the specimen is not saved.
    """
    if specimen.id is None:
        raise NotFound("The specimen has not been saved yet.")
    locked = uow.custody_scan.lock_specimen(specimen.id)
    if locked is None:
        raise NotFound(f"Specimen {specimen.accession} does not exist.")
    previous = uow.custody.last_for_specimen(specimen.id)
    current = locked.status if previous is not None else None
    status = next_status(current, kind)
    uow.custody.lock_chain()
    chain_last = uow.custody.last()
    now = clock.now()
    event = CustodyEvent(
        specimen_id=specimen.id,
        seq=(previous.seq + 1) if previous else 1,
        kind=kind,
        actor_id=handoff.actor_id,
        # Hashed as UTC text: an offset kept here would not survive the database.
        occurred_at=ensure_utc(handoff.occurred_at) if handoff.occurred_at else now,
        recorded_at=now,
        location=handoff.location[:120],
        temperature_class=handoff.temperature_class,
        seal_intact=handoff.seal_intact,
        container_ref=handoff.container_ref[:64],
        reason=handoff.reason[:200],
        note=handoff.note[:400],
    )
    event.prev_hash = previous.hash if previous else GENESIS
    event.hash = link_hash(event.prev_hash, event.content())
    event.chain_prev_hash = chain_last.chain_hash if chain_last else GENESIS
    event.chain_hash = link_hash(event.chain_prev_hash, event.content())
    uow.custody.append(event)
    for target in {id(locked): locked, id(specimen): specimen}.values():
        target.status = status
        target.status_changed_at = event.occurred_at
    uow.custody.flush()
    _move_tests(uow, specimen.id, kind, event.occurred_at)
    return event


def _move_tests(uow: UnitOfWork, specimen_id: int, kind: CustodyEventKind, at: datetime) -> None:
    """Move the tests the specimen carries as the state model says (never backwards).

    Every custody event goes through :func:`record_event`, so this is the one place a
    specimen's hand-off reaches its ordered tests: a lost tube's tests are lost, never left
    "in transit".
    """
    event = SPECIMEN_EVENTS.get(kind)
    if event is None:
        return
    by_target: dict[TestStatus, list[TestStatus]] = {}
    for status in lifecycle.sources(event):
        by_target.setdefault(lifecycle.next_test_status(status, event), []).append(status)
    for target, statuses in by_target.items():
        uow.custody_scan.advance_tests(specimen_id, target, at, statuses)


# ---------------------------------------------------------------- helpers for the services


def require_any(actor: SignedInUser, *permissions: Permission) -> None:
    """Refuse unless the actor may do at least one of ``permissions``.

    Raises:
        PermissionDenied: naming the first permission.
    """
    for permission in permissions[1:]:
        try:
            authorize(actor, permission)
        except PermissionDenied:
            continue
        return
    authorize(actor, permissions[0])


def when_text(at: datetime | None, tz: str, now: datetime | None = None) -> str:
    """``14:05`` today, else ``2026-03-01 14:05``, in the clinic's zone (``?`` for None)."""
    if at is None:
        return "an unknown time"
    if now is not None and format_local(at, tz, "%Y-%m-%d") == format_local(now, tz, "%Y-%m-%d"):
        return format_local(at, tz, "%H:%M")
    return format_local(at, tz)


def site_timezone(uow: UnitOfWork, site_id: int) -> str:
    """The IANA zone of a site (the clinic's zone for its times)."""
    site = uow.people.site(site_id)
    return site.timezone if site is not None else "UTC"


def last_actor(
    uow: UnitOfWork, specimen_id: int, kind: CustodyEventKind
) -> tuple[str, datetime | None]:
    """Who recorded the specimen's latest ``kind`` event, and when (None when there is none)."""
    found = uow.custody_scan.last_event(specimen_id, kind)
    if found is None:
        return "someone", None
    event, name = found
    return name, event.occurred_at


def find_specimen(uow: UnitOfWork, accession: str) -> Specimen:
    """Lock and return a specimen by accession.

    Raises:
        NotFound: when no specimen has that accession ID.
    """
    specimen = uow.custody_scan.lock_by_accession(accession.strip())
    if specimen is None:
        raise NotFound(
            f"No specimen {accession.strip()} in LabDesk.",
            hint="Check the label and scan it again.",
        )
    return specimen


def open_recollection(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    specimen: Specimen,
    reason: str,
    note: str,
    *,
    loss_reason: LossReason | None = None,
) -> int:
    """Record ``recollection requested`` and open the station task (once per specimen).

    ``reason`` is the rejection code or ``"lost"``; a loss also passes its ``loss_reason``.
    """
    assert specimen.id is not None
    existing = uow.recollections.for_specimen(specimen.id)
    if existing is not None:
        assert existing.id is not None
        return existing.id
    record_event(
        uow,
        clock,
        specimen,
        K.RECOLLECTION_REQUESTED,
        Handoff(actor_id=actor.id, location="Recollection worklist", reason=reason, note=note),
    )
    task = RecollectionTask(
        specimen_id=specimen.id,
        patient_id=specimen.patient_id,
        site_id=specimen.site_id,
        reason=reason,
        note=note[:400],
        loss_reason=loss_reason,
        opened_at=clock.now(),
        opened_by_id=actor.id,
    )
    uow.recollections.add(task)
    uow.recollections.flush()
    assert task.id is not None
    return task.id


# ---------------------------------------------------------------- clinic-side hand-offs


def pack_specimen(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    accession: str,
    bag_scan: str,
    *,
    location: str,
    note: str = "",
) -> CustodyEvent:
    """Record that a verified specimen went into a bag or box (commits).

    Raises:
        ValidationError: for a bag barcode that is not ``BAG`` + A/R/F + digits, or a bag of
            another temperature group than the specimen's.
        CustodyError: if the specimen is not verified yet (or already packed or gone).
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    bag = parse_bag_id(bag_scan)
    if bag is None:
        raise ValidationError(
            f"'{bag_scan.strip()[:20]}' is not a bag barcode.",
            hint="Bag barcodes read BAG, then A, R or F for the temperature group, then digits.",
        )
    specimen = find_specimen(uow, accession)
    if bag.temperature_class is not specimen.temperature_class:
        raise ValidationError(
            f"{specimen.accession} travels {specimen.temperature_class.value}; bag {bag.code} "
            f"is {bag.temperature_class.value}.",
            hint=f"Use a {specimen.temperature_class.value} bag.",
        )
    event = record_event(
        uow,
        clock,
        specimen,
        K.PACKED,
        Handoff(
            actor_id=actor.id,
            location=location,
            temperature_class=bag.temperature_class,
            seal_intact=True,
            container_ref=bag.code,
            note=note,
        ),
    )
    uow.commit()
    return event


def report_lost(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    accession: str,
    reason: LossReason | str,
    *,
    note: str = "",
    location: str,
) -> int:
    """Record a lost specimen with its coded reason and open a recollection task (commits).

    The code goes on the lost custody event (its ``reason``, the note beside it) and on the
    task (``loss_reason``); the station worklist, the timeline and the lab's message show its
    label.

    Args:
        uow: the unit of work.
        clock: the clock.
        actor: a courier, lab receiver or medical assistant.
        accession: the lost specimen's accession ID.
        reason: a :class:`LossReason` (or its code, as typed on the command line).
        note: what happened, in words; required for :attr:`LossReason.OTHER`.
        location: where the loss was noticed.

    Returns:
        The recollection task's id (the existing one when reported twice).

    Raises:
        ValidationError: an unknown code, or OTHER without a note.
        NotFound: no specimen has that accession ID.
        CustodyError: if the specimen already reached the lab or was rejected.
    """
    require_any(
        actor,
        Permission.PICK_UP_SPECIMENS,
        Permission.RECEIVE_SPECIMENS,
        Permission.COLLECT_SPECIMENS,
    )
    code, note = checked_loss(reason, note)
    specimen = find_specimen(uow, accession)
    reported = specimen.status is not SpecimenStatus.LOST
    if reported:
        record_event(
            uow,
            clock,
            specimen,
            K.LOST,
            Handoff(actor_id=actor.id, location=location, reason=code.value, note=note),
        )
    task_id = open_recollection(
        uow, clock, actor, specimen, LOST_REASON_CODE, note, loss_reason=code
    )
    if reported:
        record_audit(
            uow,
            clock,
            action=AuditAction.UPDATE,
            entity="specimen",
            entity_id=specimen.id or 0,
            actor=actor,
            # The code is logged; the typed note stays in the custody event, out of the log.
            detail=f"reported {specimen.accession} lost at {location}: {code.value}; "
            f"recollection task {task_id}",
        )
    uow.commit()
    return task_id


def refuse_if_gone(specimen: Specimen) -> None:
    """Refuse hand-offs of rejected or lost specimens with a clear message.

    Raises:
        CustodyError: when the specimen is rejected or lost.
    """
    if specimen.status in (SpecimenStatus.REJECTED, SpecimenStatus.LOST):
        raise CustodyError(
            f"{specimen.accession} is {specimen.status.value}; it cannot be handed on.",
            hint="Open its timeline to see what happened; a recollection is requested.",
        )
