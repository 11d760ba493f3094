"""Recollection tasks: what the station must draw again after a rejection or a loss."""

from __future__ import annotations

from labdesk.custody.dto import RecollectionTaskRow
from labdesk.custody.events import require_any
from labdesk.domain.clock import Clock
from labdesk.domain.errors import NotFound
from labdesk.domain.permissions import Permission
from labdesk.domain.recollection import RecollectionStatus, reason_label
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork


def open_recollection_tasks(
    uow: UnitOfWork, *, site_code: str | None = None
) -> list[RecollectionTaskRow]:
    """Open recollection tasks, oldest first (optionally of one site), for the station worklist.

    Rows carry ids, never names: the station shows the patient through its own
    (authorised, audited) patient lookup by ``patient_id``.
    """
    site_id = None
    if site_code:
        site = uow.people.site_by_code(site_code)
        if site is None:
            return []
        site_id = site.id
    rows = []
    for task, specimen, code, opener in uow.recollections.open_tasks(site_id):
        assert task.id is not None
        assert specimen.id is not None
        rows.append(
            RecollectionTaskRow(
                task_id=task.id,
                specimen_id=specimen.id,
                accession=specimen.accession,
                container_code=specimen.container_code,
                patient_id=task.patient_id,
                site_code=code,
                reason=task.reason,
                reason_label=reason_label(task.reason),
                note=task.note,
                opened_at=task.opened_at,
                opened_by=opener,
            )
        )
    return rows


def close_recollection_task(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    task_id: int,
    *,
    note: str = "",
    cancelled: bool = False,
) -> None:
    """Mark a task done (recollected) or cancelled (commits; closing twice is harmless).

    Raises:
        NotFound: unknown task.
    """
    require_any(actor, Permission.COLLECT_SPECIMENS, Permission.MANAGE_ORDERS)
    task = uow.recollections.get(task_id)
    if task is None:
        raise NotFound(f"No recollection task {task_id}.")
    if task.status is not RecollectionStatus.OPEN:
        return
    task.status = RecollectionStatus.CANCELLED if cancelled else RecollectionStatus.DONE
    task.closed_at = clock.now()
    task.closed_by_id = actor.id
    task.close_note = note[:400]
    uow.commit()
