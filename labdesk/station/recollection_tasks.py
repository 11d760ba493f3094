"""Recollection tasks: what the station must draw again after a rejection or a loss.

A task closes only by the collection that draws it again
(:func:`labdesk.station.recollection.close_if_recollected`) or by a clinician's cancel with
a reason (:func:`labdesk.station.recollection.cancel_recollection`).
"""

from __future__ import annotations

from labdesk.custody.dto import RecollectionTaskRow
from labdesk.domain.recollection import task_reason_label
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
                reason_label=task_reason_label(task),
                note=task.note,
                opened_at=task.opened_at,
                opened_by=opener,
            )
        )
    return rows
