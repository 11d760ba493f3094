"""Writing the hash-chained audit log (who did what to which record, when, where, outcome).

Use :func:`record_audit` for every create, change and delete, and every view, print and
export of patient data. Pass ``actor=`` (the signed-in user): the entry then names the user
and the station, and entries of a break-glass session are flagged for review. Record ids
only: never patient names, dates of birth or typed search text in ``detail``.
:func:`audit_patient_access` covers the common "these patients were shown/printed/exported"
case. Views commit with the caller's transaction like everything else: a screen that only
reads must still ``commit()`` (the view services in :mod:`labdesk.station.patients` do).

Role-denied attempts are the exception: the attempt rolls back, so :func:`record_denial`
writes the denial in a unit of work of its own, called by the CLI's and the UI's error paths
through :func:`record_if_denied`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from labdesk.domain.audit import AuditAction, AuditEntry
from labdesk.domain.clock import Clock
from labdesk.domain.errors import LabdeskError
from labdesk.domain.hashchain import GENESIS, link_hash
from labdesk.domain.permissions import Permission
from labdesk.kernel.dto import RoleDenied, SignedInUser
from labdesk.ports import UnitOfWork, UowFactory

logger = logging.getLogger(__name__)

DETAIL_MAX = 400
EMERGENCY_MARK = "[break-glass] "
PATIENT = "patient"
DENIED_ENTITY = "permission"
"""``entity`` of a denial's entry; ``entity_id`` names the permission (``acknowledge_results``)."""


def clean_detail(text: str) -> str:
    """One line, no control characters (no log or CSV injection), at most ``DETAIL_MAX``."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    return flat[:DETAIL_MAX]


def record_audit(
    uow: UnitOfWork,
    clock: Clock,
    *,
    action: AuditAction,
    entity: str,
    entity_id: str | int,
    user_id: int | None = None,
    station: str = "",
    detail: str = "",
    outcome: str = "success",
    actor: SignedInUser | None = None,
    flagged: bool = False,
) -> AuditEntry:
    """Append an audit entry linked to the previous one (caller commits).

    Args:
        uow: the caller's unit of work (the entry commits or rolls back with its work).
        clock: time source.
        action: what was done.
        entity: the kind of record (``patient``, ``specimen``, ``user``...).
        entity_id: the record's id (never a name).
        user_id: who did it, when no ``actor`` is given (None: the command line).
        station: where, when no ``actor`` is given.
        detail: what changed, in ids and codes; never patient demographics.
        outcome: ``success`` or what went wrong.
        actor: the signed-in user; supplies ``user_id`` and ``station`` and flags
            everything done in a break-glass session.
        flagged: needs an administrator's review.
    """
    entry = _entry(
        clock,
        action=action,
        entity=entity,
        entity_id=entity_id,
        user_id=user_id,
        station=station,
        detail=detail,
        outcome=outcome,
        actor=actor,
        flagged=flagged,
    )
    _append(uow, [entry])
    return entry


def _entry(
    clock: Clock,
    *,
    action: AuditAction,
    entity: str,
    entity_id: str | int,
    user_id: int | None,
    station: str,
    detail: str,
    outcome: str,
    actor: SignedInUser | None,
    flagged: bool,
) -> AuditEntry:
    if actor is not None:
        user_id = actor.id
        station = station or actor.station
        if actor.emergency:
            flagged = True
            if not detail.startswith(EMERGENCY_MARK):
                detail = EMERGENCY_MARK + detail
    return AuditEntry(
        at=clock.now(),
        action=action,
        entity=entity,
        entity_id=str(entity_id)[:64],
        outcome=outcome[:32],
        user_id=user_id,
        station=station[:32],
        detail=clean_detail(detail),
        flagged=flagged,
    )


def _append(uow: UnitOfWork, entries: list[AuditEntry]) -> None:
    """Chain ``entries`` after the log's last entry under one chain lock."""
    if not entries:
        return
    uow.audit.lock_chain()  # counts one entry and serialises writers
    if len(entries) > 1:
        uow.access.count_audit_entries(len(entries) - 1)
    previous = uow.audit.last_hash() or GENESIS
    for entry in entries:
        entry.prev_hash = previous
        entry.hash = link_hash(entry.prev_hash, entry.content())
        previous = entry.hash
        uow.audit.append(entry)
    uow.audit.flush()


def audit_patient_access(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    action: AuditAction,
    patient_ids: Iterable[int],
    *,
    how: str,
) -> None:
    """Record that ``actor`` saw, printed or exported these patients (caller commits).

    One entry per patient, so "who saw this patient" is one indexed query; ``how`` says
    through what (``search``, ``wristband scan``, ``label``, ``results export``...).
    """
    entries = [
        _entry(
            clock,
            action=action,
            entity=PATIENT,
            entity_id=patient_id,
            user_id=None,
            station="",
            detail=how,
            outcome="success",
            actor=actor,
            flagged=False,
        )
        for patient_id in dict.fromkeys(patient_ids)
    ]
    _append(uow, entries)


def record_denial(
    uow_factory: UowFactory,
    clock: Clock,
    actor: SignedInUser,
    permission: Permission,
    attempted: str,
) -> AuditEntry:
    """Audit that ``actor``'s role was refused ``permission`` (own unit of work; commits).

    Args:
        uow_factory: opens the short unit of work the entry commits in (the attempt's own
            transaction has rolled back).
        clock: time source.
        actor: who tried; names the user and station, flags a break-glass session.
        permission: what their role does not allow.
        attempted: what was tried (the service or command).

    Raises:
        StorageError: the database would not take the entry.
    """
    with uow_factory() as uow:
        entry = record_audit(
            uow,
            clock,
            action=AuditAction.DENY,
            entity=DENIED_ENTITY,
            entity_id=permission.name.lower(),
            outcome="denied",
            actor=actor,
            detail=f"{attempted}: role {actor.role.value} may not {permission.value}",
        )
        uow.commit()
    return entry


def record_if_denied(uow_factory: UowFactory, clock: Clock, error: BaseException) -> bool:
    """Audit ``error`` when it is a role denial not audited yet (for the error paths).

    Never raises: a denial the database will not take is logged, and the user still gets
    the denial's message.

    Returns:
        True when this call wrote the denial's entry.
    """
    if not isinstance(error, RoleDenied) or error.audited:
        return False
    try:
        record_denial(uow_factory, clock, error.actor, error.permission, error.attempted)
    except LabdeskError as exc:
        logger.error(
            "denial of %s to user %s (%s) not audited: %s",
            error.permission.name,
            error.actor.id,
            error.attempted,
            exc,
        )
        return False
    error.audited = True
    return True
