"""Append-only, hash-chained audit entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AuditAction(StrEnum):
    """What was done."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    VIEW = "view"
    PRINT = "print"
    EXPORT = "export"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    LOCK = "lock"
    UNLOCK = "unlock"
    BREAK_GLASS = "break_glass"
    REVIEW = "review"
    DENY = "deny"
    """A role-denied attempt (entity ``permission``); written although the attempt rolled back."""


@dataclass(eq=False, kw_only=True)
class AuditEntry:
    """Who did what to which record, when, where and with what outcome."""

    at: datetime
    action: AuditAction
    entity: str
    entity_id: str
    outcome: str = "success"
    user_id: int | None = None
    station: str = ""
    detail: str = ""
    flagged: bool = False
    """Needs an administrator's review (break-glass use, an account locked by failures)."""
    prev_hash: str = ""
    hash: str = ""
    id: int | None = None

    def content(self) -> dict[str, object]:
        """The fields covered by the hash."""
        return {
            "at": self.at,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "outcome": self.outcome,
            "user_id": self.user_id,
            "station": self.station,
            "detail": self.detail,
            # Only when set, so entries written before the column existed still verify.
            **({"flagged": True} if self.flagged else {}),
        }
