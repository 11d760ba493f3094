"""Sign-ins made offline reach the server's audit log (issue 12 item 4).

A sign-in or unlock offline is checked against the replica's users at the station; its
command holds the password or PIN, so it is never written to the outbox. What the server
must know is what the station audited: who signed in (or failed to), where and when. The
offline bus copies the audit entries the session command wrote in the station file into a
:class:`RecordOfflineAudit` in the same local transaction, and replay appends them to the
server's chain with their offline times, marked as made offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import ValidationError
from labdesk.kernel.audit import record_audit
from labdesk.kernel.messagebus import Command, HandlerContext, handler

OFFLINE_MARK = "offline: "
"""Prefix of the detail of an audit entry the station made while offline."""

COPIED_ACTIONS: frozenset[AuditAction] = frozenset(
    {AuditAction.SIGN_IN, AuditAction.SIGN_OUT, AuditAction.LOCK, AuditAction.UNLOCK}
)
"""What a session command audits (anything else is refused: it is not a copy of a sign-in)."""


@dataclass(frozen=True)
class OfflineAuditEntry:
    """One audit entry the station wrote offline (no secret: who, what, when, where)."""

    at: datetime
    action: str
    entity: str
    entity_id: str
    outcome: str
    user_id: int | None
    station: str
    detail: str
    flagged: bool


@dataclass(frozen=True, kw_only=True)
class RecordOfflineAudit(Command[int]):
    """Append the audit entries of an offline sign-in to the server's log; returns how many."""

    entries: tuple[OfflineAuditEntry, ...]


@handler(RecordOfflineAudit)
def _record_offline_audit(command: RecordOfflineAudit, ctx: HandlerContext) -> int:
    for entry in command.entries:
        try:
            action = AuditAction(entry.action)
        except ValueError as exc:
            raise ValidationError(f"Unknown audit action {entry.action!r}.") from exc
        if action not in COPIED_ACTIONS:
            raise ValidationError(
                f"An offline audit copy may hold sign-in entries only, not {action.value}."
            )
        detail = entry.detail
        record_audit(
            ctx.uow,
            FixedClock(entry.at),
            action=action,
            entity=entry.entity,
            entity_id=entry.entity_id,
            user_id=entry.user_id,
            station=entry.station,
            detail=detail if detail.startswith(OFFLINE_MARK) else OFFLINE_MARK + detail,
            outcome=entry.outcome,
            flagged=entry.flagged,
        )
    return len(command.entries)
