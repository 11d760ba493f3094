"""Recollections at the station: drawing again what the lab rejected or reported lost.

A recollection task (opened by :func:`labdesk.custody.events.open_recollection`) names
the specimen to replace. Its tests still ``rejected`` or ``lost`` are the ones to draw
again, and a recollection visit plans only those (the patient's other pending orders join
only when the assistant asks for them). The collection that draws them
(:func:`labdesk.station.collect.collect` with ``recollection_task_id``) creates
the new specimens linked to the old one, moves each test with the state model's
``recollected`` event, and closes the task with :func:`close_if_recollected`, all in one
transaction. A task can also be cancelled with a reason (:func:`cancel_recollection`).
"""

from __future__ import annotations

from collections.abc import Sequence

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.draw_plan import DrawPlan, PlanRequest
from labdesk.domain.encounter import Encounter
from labdesk.domain.errors import NotFound, PermissionDenied, ValidationError
from labdesk.domain.lifecycle import NEEDS_RECOLLECTION, TestEvent, next_test_status
from labdesk.domain.order import OrderedTest, Priority
from labdesk.domain.permissions import Permission
from labdesk.domain.recollection import (
    RecollectionStatus,
    RecollectionTask,
    task_reason_label,
)
from labdesk.domain.specimen import Specimen
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import RoleDenied, SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.station.dto import RecollectionInfo
from labdesk.station.orders import close_if_all_cancelled, plan_requests

MIN_REASON = 3
CANCEL_PERMISSION = Permission.ACKNOWLEDGE_RESULTS
"""Who may cancel a recollection: a clinician (the role that signs results off), as the
decision not to redraw a rejected or lost test is a clinical one."""


def task_of(uow: UnitOfWork, task_id: int) -> RecollectionTask:
    """The recollection task ``task_id``.

    Raises:
        NotFound: if there is no such task.
    """
    task = uow.recollections.get(task_id)
    if task is None:
        raise NotFound(
            f"No recollection task {task_id}.", hint="Refresh the worklist (F5) and pick it again."
        )
    return task


def tests_to_recollect(uow: UnitOfWork, task: RecollectionTask) -> list[OrderedTest]:
    """The task's tests still to draw again: those its specimen carries that are rejected
    or lost (none once the task is closed)."""
    if task.status is not RecollectionStatus.OPEN:
        return []
    tests = uow.orders.tests_for_specimen(task.specimen_id)
    return sorted((t for t in tests if t.status in NEEDS_RECOLLECTION), key=lambda t: t.id or 0)


def recollection_requests(uow: UnitOfWork, task: RecollectionTask) -> list[PlanRequest]:
    """The plan requests of the task's tests (STAT when their order is)."""
    requests = []
    for ot in tests_to_recollect(uow, task):
        assert ot.id is not None
        order = uow.orders.get(ot.order_id)
        stat = order is not None and order.priority is Priority.STAT
        requests.append(PlanRequest(ot.id, ot.test_code, stat=stat))
    return requests


def plan_recollection(
    uow: UnitOfWork, actor: SignedInUser, task_id: int, *, winged_set: bool = False
) -> DrawPlan:
    """The draw plan of a recollection: exactly the task's rejected or lost tests.

    Empty once the task is closed. Drawing it still needs the two-identifier check of the
    visit (:func:`labdesk.station.collect.collect` refuses without it).

    Raises:
        PermissionDenied: if the actor may not collect specimens.
        NotFound: no such task.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    task = task_of(uow, task_id)
    return plan_requests(uow, recollection_requests(uow, task), winged_set=winged_set)


def require_for_encounter(task: RecollectionTask, encounter: Encounter) -> None:
    """Refuse a recollection drawn in another patient's visit.

    Raises:
        ValidationError: if the task is for another patient.
    """
    if task.patient_id != encounter.patient_id:
        raise ValidationError(
            "This recollection is for another patient.",
            hint="Finish this visit, then open the task from 'To recollect' again.",
        )


def recollection_info(uow: UnitOfWork, task: RecollectionTask) -> RecollectionInfo:
    """The task as the station's banner and plan show it."""
    assert task.id is not None
    old = uow.specimens.get(task.specimen_id)
    new = (
        uow.specimens.get(task.recollected_specimen_id)
        if task.recollected_specimen_id is not None
        else None
    )
    return RecollectionInfo(
        task_id=task.id,
        specimen_id=task.specimen_id,
        accession=old.accession if old else str(task.specimen_id),
        reason=task.reason,
        reason_label=task_reason_label(task),
        note=task.note,
        status=task.status,
        test_codes=tuple(t.test_code for t in tests_to_recollect(uow, task)),
        recollected_accession=new.accession if new else "",
        close_note=task.close_note,
    )


def recollection_note(old: Specimen, task: RecollectionTask) -> str:
    """The note of the new specimen's ``collected`` event: what it replaces, and why."""
    return f"recollection of {old.accession} ({task_reason_label(task).lower()})"


def close_if_recollected(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    task: RecollectionTask,
    drawn: Sequence[Specimen],
    *,
    station_code: str = "",
) -> bool:
    """Close the task as done once none of its tests is left to draw (caller commits).

    Args:
        uow: the unit of work the collection was written in (flushed).
        clock: the clock.
        actor: who recorded the collection.
        task: the recollection task.
        drawn: the new specimens carrying its recollected tests, in plan order.
        station_code: for the audit entry.

    Returns:
        True when the task was closed.
    """
    if task.status is not RecollectionStatus.OPEN or not drawn or tests_to_recollect(uow, task):
        return False
    assert task.id is not None
    accessions = ", ".join(s.accession for s in drawn)
    task.status = RecollectionStatus.DONE
    task.closed_at = clock.now()
    task.closed_by_id = actor.id
    task.recollected_specimen_id = drawn[0].id
    task.close_note = f"recollected as {accessions}"[:400]
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="recollection_task",
        entity_id=task.id,
        actor=actor,
        station=station_code,
        detail=f"done: specimen {task.specimen_id} recollected as {accessions}",
    )
    return True


def _clinician_only(refused: RoleDenied, actor: SignedInUser) -> RoleDenied:
    """The denial of a cancel, saying who may do it (audited like every denial).

    The matrix's own message names "acknowledge results", which reads as unrelated here.
    """
    clear = PermissionDenied(
        f"Only a clinician can cancel a recollection; you are signed in as {actor.role.label}.",
        hint="Ask a clinician to cancel it, with the reason; until then it stays on the "
        "worklist to be drawn.",
    )
    return RoleDenied(clear, actor, refused.permission, refused.attempted)


def cancel_recollection(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    task_id: int,
    reason: str,
    *,
    cancel_tests: bool = False,
    station_code: str = "",
) -> int:
    """Close a recollection task as cancelled, with a reason, audited, and commit.

    Only a clinician decides that a rejected or lost specimen is not drawn again (the
    clinician's permission to sign results off, :data:`CANCEL_PERMISSION`); the medical
    assistant is told to ask one.

    Without ``cancel_tests`` the tests stay rejected or lost, so the clinician board keeps
    showing them until a clinician acknowledges them. With it (the clinician cancelled the
    tests) each test moves to cancelled through the state model, and an order left with
    only cancelled tests is cancelled too.

    Returns:
        How many tests were cancelled.

    Raises:
        PermissionDenied: if the actor is not a clinician (or, with ``cancel_tests``, may
            not manage orders).
        ValidationError: no reason, or the task is already closed.
        NotFound: no such task.
    """
    try:
        authorize(actor, CANCEL_PERMISSION)
    except RoleDenied as refused:
        raise _clinician_only(refused, actor) from None
    if cancel_tests:
        authorize(actor, Permission.MANAGE_ORDERS)
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise ValidationError(
            "Cancelling a recollection needs a reason.",
            hint="Say why, e.g. 'clinician cancelled the test' or 'patient declined'.",
        )
    task = task_of(uow, task_id)
    if task.status is not RecollectionStatus.OPEN:
        raise ValidationError(
            f"This recollection was already {task.status.value}.",
            hint="Refresh the worklist (F5).",
        )
    tests = tests_to_recollect(uow, task)
    now = clock.now()
    cancelled: list[int] = []
    if cancel_tests:
        for ot in tests:
            assert ot.id is not None
            ot.status = next_test_status(ot.status, TestEvent.CANCELLED)
            ot.status_changed_at = now
            cancelled.append(ot.id)
        uow.orders.flush()
        for order_id in sorted({t.order_id for t in tests}):
            close_if_all_cancelled(uow, order_id, reason)
    task.status = RecollectionStatus.CANCELLED
    task.closed_at = now
    task.closed_by_id = actor.id
    task.close_note = reason[:400]
    assert task.id is not None
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="recollection_task",
        entity_id=task.id,
        actor=actor,
        station=station_code,
        detail=f"cancelled: {reason}"
        + (f"; tests cancelled {cancelled}" if cancelled else "; tests left for the clinician"),
    )
    uow.commit()
    return len(cancelled)


def open_recollection_of(uow: UnitOfWork, actor: SignedInUser, accession: str) -> RecollectionInfo:
    """The open recollection task of a rejected or lost specimen (from a board row).

    The clinician's way to a task: the board shows the rejected or lost test with its
    specimen's accession; cancelling the recollection needs the task.

    Raises:
        PermissionDenied: if the actor may not view custody.
        NotFound: no such specimen.
        ValidationError: the specimen has no open recollection task.
    """
    authorize(actor, Permission.VIEW_CUSTODY)
    specimen = uow.specimens.by_accession(accession.strip())
    if specimen is None or specimen.id is None:
        raise NotFound(f"No specimen has accession ID {accession}.", hint="Refresh the board.")
    task = uow.recollections.for_specimen(specimen.id)
    if task is None or task.status is not RecollectionStatus.OPEN:
        raise ValidationError(
            f"{specimen.accession} has no open recollection.",
            hint="Select a rejected or lost test that is still to be drawn again.",
        )
    return recollection_info(uow, task)
