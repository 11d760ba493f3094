"""Keep the board table (``board_entries``) equal to what the overdue engine says.

An entry stores a test's display values and *every* pending deadline, not the flags: a
deadline turns into a flag when its time passes, so entries stay right as time goes by and
only change when the test's data does. Database triggers queue the id of every changed test
in ``board_dirty``; :func:`refresh_board` re-evaluates exactly those tests, and rebuilds
every entry when the policy, the test catalog or the courier routes changed (the board's
*fingerprint*). Refreshes are serialised on the ``board_state`` row, so two workstations
refreshing at once never both write an entry.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from labdesk.domain.clock import Clock
from labdesk.domain.errors import LabdeskError
from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import OverduePolicy, posix
from labdesk.ports import UnitOfWork
from labdesk.results.board_dto import BoardRow
from labdesk.results.board_query import STATUS_RANK, split_name
from labdesk.results.overdue import ID_CHUNK as _CHUNK
from labdesk.results.overdue import evaluate_rows

KEEP_CLOSED_DAYS = 7
"""Acknowledged tests stay on the board (shown on request) this many days."""
ENTRY_FORMAT = 2
"""Bump when what an entry holds changes: a new fingerprint rebuilds every entry."""
REBUILD_ABOVE = 20_000
"""More queued tests than this rebuild the whole board (one pass beats many small ones)."""
_FAR_FUTURE = 1e12
"""``sort_due`` of a closed test: after every real deadline (year 33658)."""
Progress = Callable[[int, int], None]
"""``progress(done, total)`` during a rebuild."""


class BoardEntryError(LabdeskError):
    """The overdue engine gave a test more deadlines than the board table holds."""


@dataclass(frozen=True)
class RefreshOutcome:
    """What one refresh did."""

    updated: int
    """Tests re-evaluated."""
    rebuilt: bool
    version: int | None
    """The board's version after the refresh (None when nothing had to change)."""


def board_fingerprint(uow: UnitOfWork, policy: OverduePolicy) -> str:
    """SHA-256 over everything an entry depends on besides the test's own data."""
    calendar = policy.calendar
    settings = {f.name: getattr(policy, f.name) for f in fields(policy) if f.name != "calendar"}
    catalog = [
        (t.code, t.name, t.routine_tat_min, t.stat_tat_min, t.working_days)
        for t in uow.catalog.tests()
    ]
    routes = [(r.id, r.transit_minutes) for r in uow.routes.all()]
    payload = {
        "format": ENTRY_FORMAT,
        "keep_closed_days": KEEP_CLOSED_DAYS,
        "policy": settings,
        "calendar": [
            calendar.timezone,
            sorted(calendar.workdays),
            sorted(d.isoformat() for d in calendar.holidays),
            calendar.day_start.isoformat(),
            calendar.day_end.isoformat() if calendar.day_end is not None else None,
        ],
        "catalog": catalog,
        "routes": sorted(routes, key=lambda r: r[0] or 0),
    }
    encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def refresh_board(
    uow: UnitOfWork, clock: Clock, policy: OverduePolicy, *, progress: Progress | None = None
) -> RefreshOutcome:
    """Bring the board table up to date in an open unit of work (commits when it wrote).

    Nothing is written, and nothing locked, when no test changed and the fingerprint
    matches: the usual case costs two small reads.
    """
    now = clock.now()
    fingerprint = board_fingerprint(uow, policy)
    state = uow.board_table.state()
    if state is not None and state[0] == fingerprint and not uow.board_table.has_dirty():
        return RefreshOutcome(updated=0, rebuilt=False, version=None)
    uow.board_table.lock_state()
    state = uow.board_table.state()
    keep_since = now - timedelta(days=KEEP_CLOSED_DAYS)
    dirty = uow.board_table.take_dirty()
    rebuild = state is None or state[0] != fingerprint or len(dirty) > REBUILD_ABOVE
    if rebuild:
        uow.board_table.delete_all()
        rows = evaluate_rows(uow, policy, math.inf, keep_since)
        _insert(uow, rows, progress)
        updated = len(rows)
    else:
        keep_since_s = posix(keep_since)
        for start in range(0, len(dirty), _CHUNK):
            chunk = dirty[start : start + _CHUNK]
            rows = evaluate_rows(uow, policy, math.inf, test_ids=chunk)
            uow.board_table.delete_entries(chunk)
            _insert(uow, [r for r in rows if _listed(r, keep_since_s)], None)
        updated = len(dirty)
    uow.board_table.purge_closed(posix(keep_since))
    version = uow.board_table.save_state(fingerprint, rebuilt_s=posix(now) if rebuild else None)
    uow.commit()
    return RefreshOutcome(updated=updated, rebuilt=rebuild, version=version)


def _grown(uow: UnitOfWork) -> bool:
    """True when the table doubled or halved since the planner last measured it."""
    before = uow.board_table.analyzed_rows()
    if before is None:
        return True
    now = uow.board_table.entry_count()
    return now > 2 * before + 100 or 2 * now + 100 < before


def _listed(row: BoardRow, keep_since_s: float) -> bool:
    """Open tests, and tests acknowledged since ``keep_since_s``, have an entry."""
    if row.status.is_open:
        return True
    changed = row.status_changed_s
    return (
        row.status is TestStatus.ACKNOWLEDGED and changed is not None and (changed >= keep_since_s)
    )


def _insert(uow: UnitOfWork, rows: Sequence[BoardRow], progress: Progress | None) -> None:
    total = len(rows)
    for start in range(0, total, _CHUNK):
        uow.board_table.insert_entries([entry_of(r) for r in rows[start : start + _CHUNK]])
        if progress is not None:
            progress(min(total, start + _CHUNK), total)


def entry_of(row: BoardRow) -> dict[str, Any]:
    """The ``board_entries`` row of an evaluated test (its flags are all its deadlines).

    Raises:
        BoardEntryError: for more than two deadlines (the engine never gives more).
    """
    deadlines = sorted(row.flags, key=lambda d: (d.reason.urgency, d.due_s))
    if len(deadlines) > 2:
        raise BoardEntryError(
            f"Ordered test {row.ordered_test_id} has {len(deadlines)} pending deadlines; the "
            "board stores two.",
            hint="Report this: the overdue engine and the board table disagree.",
        )
    first = deadlines[0] if deadlines else None
    second = deadlines[1] if len(deadlines) > 1 else None
    family, given = split_name(row.patient_name)
    is_open = row.status.is_open
    return {
        "ordered_test_id": row.ordered_test_id,
        "is_open": is_open,
        "closed_s": None if is_open else row.status_changed_s,
        "status": row.status.value,
        "status_rank": STATUS_RANK[row.status],
        "stat": row.stat,
        "order_id": row.order_id,
        "placer_order_number": row.placer_order_number,
        "placer_key": row.placer_order_number.casefold(),
        "test_code": row.test_code,
        "test_name": row.test_name,
        "ordering_provider": row.ordering_provider,
        "provider_key": row.ordering_provider.casefold(),
        "ordering_provider_id": row.ordering_provider_id,
        "patient_id": row.patient_id,
        "mrn": row.mrn,
        "mrn_key": row.mrn.casefold(),
        "patient_name": row.patient_name,
        "patient_key": row.patient_name.casefold(),
        "family_key": family.casefold(),
        "given_key": given.casefold(),
        "accession": row.accession,
        "specimen_status": row.specimen_status,
        "ordered_s": row.ordered_s,
        "collected_s": row.collected_s,
        "result_s": row.result_s,
        "severity": row.severity,
        "d1_reason": first.reason.value if first else None,
        "d1_urgency": int(first.reason.urgency) if first else None,
        "d1_since": first.since_s if first else None,
        "d1_due": first.due_s if first else None,
        "d2_reason": second.reason.value if second else None,
        "d2_urgency": int(second.reason.urgency) if second else None,
        "d2_since": second.since_s if second else None,
        "d2_due": second.due_s if second else None,
        "due_s": row.due_s if is_open else None,
        "sort_due": row.due_s if is_open and row.due_s is not None else _FAR_FUTURE,
        "escalated": row.escalated,
        "escalated_to_id": row.escalated_to_id,
        "escalated_to": row.escalated_to,
    }


def rebuild_board(
    uow: UnitOfWork, clock: Clock, policy: OverduePolicy, *, progress: Progress | None = None
) -> RefreshOutcome:
    """Recompute every entry (``labdesk overdue rebuild-board``; commits).

    The reset commits before the rebuild starts, so a rebuild cut short is done again by the
    next refresh.
    """
    uow.board_table.lock_state()
    uow.board_table.save_state("")
    uow.commit()
    return refresh_board(uow, clock, policy, progress=progress)
