"""Filters and rows of the audit log viewer (plain data shared by services, storage and UI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from labdesk.domain.audit import AuditAction

MAX_ROWS = 100_000


@dataclass(frozen=True)
class AuditQuery:
    """Filters of an audit search; None or empty means "any"."""

    user_id: int | None = None
    username: str = ""
    action: AuditAction | None = None
    entity: str = ""
    entity_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""
    flagged_only: bool = False
    limit: int = 1000


@dataclass(frozen=True)
class AuditRow:
    """One audit entry with the user name resolved."""

    id: int
    at: datetime
    user_id: int | None
    username: str
    station: str
    action: AuditAction
    entity: str
    entity_id: str
    outcome: str
    detail: str
    flagged: bool
    reviewed: bool = False
