"""Writing the hash-chained audit log (who did what to which record, when, where)."""

from __future__ import annotations

from labdesk.domain.audit import AuditAction, AuditEntry
from labdesk.domain.clock import Clock
from labdesk.domain.hashchain import GENESIS, link_hash
from labdesk.ports import UnitOfWork


def record_audit(
    uow: UnitOfWork,
    clock: Clock,
    *,
    action: AuditAction,
    entity: str,
    entity_id: str | int,
    user_id: int | None,
    station: str = "",
    detail: str = "",
    outcome: str = "success",
) -> AuditEntry:
    """Append an audit entry linked to the previous one (caller commits).

    ``detail`` must never hold patient demographics: name record ids instead.
    """
    uow.audit.lock_chain()
    last = uow.audit.last()
    entry = AuditEntry(
        at=clock.now(),
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        outcome=outcome,
        user_id=user_id,
        station=station,
        detail=detail[:400],
    )
    entry.prev_hash = last.hash if last else GENESIS
    entry.hash = link_hash(entry.prev_hash, entry.content())
    uow.audit.append(entry)
    uow.audit.flush()
    return entry
