"""Break-glass emergency access (HIPAA 164.312(a)(2)(ii)): wider access, with a reason.

A signed-in user whose role allows it confirms their password and states why; the session
then also carries :data:`~labdesk.domain.permissions.EMERGENCY_GRANTS` until it ends (sign
out, switch user or the station locking). The start, every attempt, the end and every audited
action in between are flagged in the audit log for an administrator's review.
"""

from __future__ import annotations

import dataclasses

from labdesk.access.credentials import verify_secret
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import AuthenticationError, ValidationError
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork

MIN_REASON = 10
SESSION = "session"


def start_emergency_access(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, *, reason: str, password: str
) -> SignedInUser:
    """Open a break-glass session (commits its audit entry, also when refused).

    Returns:
        The same user with ``emergency`` set.

    Raises:
        PermissionDenied: the role may not use emergency access.
        ValidationError: no real reason given.
        AuthenticationError: the password is wrong.
    """
    authorize(actor, Permission.EMERGENCY_ACCESS)
    why = " ".join(reason.split())
    if len(why) < MIN_REASON:
        raise ValidationError(
            f"Say why emergency access is needed (at least {MIN_REASON} characters).",
            hint="For example: 'patient deteriorating, results needed before the lab calls'. "
            "Do not enter patient names.",
        )
    user = uow.people.user(actor.id)
    if user is None or not verify_secret(user.password_hash, password):
        _audit(uow, clock, actor, "wrong_password", why)
        uow.commit()
        raise AuthenticationError(
            "Wrong password: emergency access not granted.",
            hint="Confirm with the password you signed in with.",
        )
    _audit(uow, clock, actor, "success", why)
    uow.commit()
    return dataclasses.replace(actor, emergency=True)


def end_emergency_access(uow: UnitOfWork, clock: Clock, actor: SignedInUser) -> SignedInUser:
    """Close a break-glass session (caller commits).

    Returns:
        The same user with ``emergency`` cleared.
    """
    if actor.emergency:
        record_audit(
            uow,
            clock,
            action=AuditAction.BREAK_GLASS,
            entity=SESSION,
            entity_id=actor.id,
            outcome="ended",
            detail="emergency access ended",
            actor=actor,
        )
    return dataclasses.replace(actor, emergency=False)


def _audit(uow: UnitOfWork, clock: Clock, actor: SignedInUser, outcome: str, reason: str) -> None:
    record_audit(
        uow,
        clock,
        action=AuditAction.BREAK_GLASS,
        entity=SESSION,
        entity_id=actor.id,
        outcome=outcome,
        detail=f"reason: {reason}",
        actor=actor,
        flagged=True,
    )
