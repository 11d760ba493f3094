"""Covering clinicians and the escalations of critical results sent to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from labdesk.domain.overdue import FlagReason


@dataclass(eq=False, kw_only=True)
class CoveringClinician:
    """Who covers for a clinician when one of their critical results goes unacknowledged."""

    clinician_id: int
    covering_id: int
    updated_at: datetime
    note: str = ""
    id: int | None = None


@dataclass(eq=False, kw_only=True)
class Escalation:
    """A flag handed on to a covering clinician (recorded once per flag occurrence).

    ``since_at`` is when the flag's clock started (the critical result's arrival), so a
    later critical result on the same test escalates again; ``to_user_id`` is None when no
    covering clinician was configured, which the board shows as a problem of its own.
    """

    ordered_test_id: int
    reason: FlagReason
    since_at: datetime
    due_at: datetime
    escalated_at: datetime
    from_user_id: int | None = None
    to_user_id: int | None = None
    id: int | None = None
