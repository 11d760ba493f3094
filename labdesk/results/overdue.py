"""Overdue tracking: evaluating ordered tests, escalations, turnaround figures.

Tests are read set-based (one joined select plus per-test aggregates of results,
acknowledgements and escalations) and evaluated by the pure
:class:`~labdesk.domain.overdue.OverdueEngine` in one pass. The clinician board stores what
this evaluation gives (see :mod:`labdesk.results.board_refresh`) and reads it from there.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from labdesk.custody.views import transit_minutes
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.escalation import CoveringClinician, Escalation
from labdesk.domain.order import Priority, TestStatus
from labdesk.domain.overdue import (
    Deadline,
    FlagReason,
    OrderedTestState,
    OverdueEngine,
    OverduePolicy,
    from_posix,
    posix,
)
from labdesk.domain.people import Role
from labdesk.domain.permissions import Permission
from labdesk.domain.specimen import SpecimenStatus
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.results.board_dto import (
    NO_RESULT,
    BoardRow,
    EscalationSent,
    TurnaroundStat,
)

OPEN_STATUSES = tuple(s for s in TestStatus if s.is_open)
_STATUS = {s.value: s for s in TestStatus}
_STAT = Priority.STAT.value
_LOST = SpecimenStatus.LOST.value
_IN_TRANSIT = TestStatus.IN_TRANSIT.value
ID_CHUNK = 2000
"""Ids per IN (...) list: well under every backend's limit on bound parameters."""
_NO_ROUTE: tuple[int | None, float | None] = (None, None)
_new_tuple = tuple.__new__


def evaluate_rows(
    uow: UnitOfWork,
    policy: OverduePolicy,
    now_s: float,
    closed_since: datetime | None = None,
    *,
    criticals_only: bool = False,
    test_ids: Sequence[int] | None = None,
) -> list[BoardRow]:
    """Read the open tests and evaluate them (inside an open unit of work).

    ``criticals_only`` limits the read to tests with a current critical result;
    ``test_ids`` to those tests, whatever their status. Flags are the deadlines passed at
    ``now_s`` (``math.inf`` lists every pending deadline, as the board table stores them).
    """
    engine = OverdueEngine(policy)
    # Plain tuples: reading attributes of mapped instances 400,000 times costs ~0.3 s.
    tests = {
        t.code: (t.name, t.routine_tat_min, t.stat_tat_min, t.working_days)
        for t in uow.catalog.tests()
    }
    unknown = (None, 1440, None, False)
    ids = list(test_ids) if test_ids is not None else None
    summaries = {r[0]: r for r in uow.board.result_summaries(ids)}
    only: list[int] | None = ids
    if criticals_only:
        only = [test_id for test_id, row in summaries.items() if row[4] is not None]
        if not only:
            return []
    acks = uow.board.last_acknowledgements(ids)
    discrepancies = {} if criticals_only else uow.board.open_discrepancies(ids)
    escalated = {r[0]: r for r in uow.board.open_escalations(ids)}  # latest wins
    windows = {} if criticals_only else uow.timed_draws.open_windows(ids)
    statuses = tuple(TestStatus) if test_ids is not None else OPEN_STATUSES
    raw = uow.board.board_rows(statuses, closed_since, only)
    transit: dict[int, tuple[int, float]] = {}
    if not criticals_only:
        transit = transit_by_specimen(
            uow, [r[14] for r in raw if r[1] == _IN_TRANSIT and r[14] is not None]
        )
    rows: list[BoardRow] = []
    append = rows.append
    status_of = _STATUS.get
    deadlines_of = engine.deadlines
    no_summary: tuple[Any, ...] = (None, None, None, NO_RESULT, None)
    no_escalation: tuple[Any, ...] = (None, None, None, "")
    # Hot loop over every open test: tuples are built with tuple.__new__ (the named tuples'
    # Python-level __new__ would double the loop's cost) and the common one-deadline case
    # skips the generic comprehensions.
    for (test_id, status_text, changed, code, order_id, placer, priority, provider,
         provider_id, ordered, patient_id, mrn, family, given, specimen_id, accession,
         spec_status, collected, spec_changed) in raw:  # fmt: skip
        status = status_of(status_text, TestStatus.ORDERED)
        name, routine_tat, stat_tat, working = tests.get(code, unknown)
        summary = summaries.get(test_id, no_summary)
        stat = priority == _STAT
        route = transit.get(specimen_id, _NO_ROUTE) if specimen_id is not None else _NO_ROUTE
        deadlines = deadlines_of(
            _new_tuple(
                OrderedTestState,
                (status, stat, routine_tat, stat_tat, working, ordered, collected, changed,
                 spec_changed if spec_status == _LOST else None, summary[1], summary[2],
                 summary[4], summary[3] >= 1, acks.get(test_id), route[0], route[1],
                 discrepancies.get(test_id), windows.get(test_id)),
            )
        )  # fmt: skip
        flags: tuple[Deadline, ...]
        waiting: FlagReason | None = None
        if len(deadlines) == 1:
            due = deadlines[0][2]
            if due <= now_s:
                flags = deadlines
            else:
                flags, waiting = (), deadlines[0][0]
        elif deadlines:
            due = min(d[2] for d in deadlines)
            flags = tuple(d for d in deadlines if d[2] <= now_s)
            waiting = next((d[0] for d in deadlines if d[2] > now_s), None)
        else:
            due, flags = None, ()
        escalation = escalated.get(test_id, no_escalation)
        append(
            _new_tuple(
                BoardRow,
                (test_id, order_id, placer, code, name or code, status, stat, provider,
                 provider_id, patient_id, mrn, f"{family}, {given}", accession or "",
                 spec_status or "", ordered, collected, summary[2], summary[3], due, flags,
                 escalation[0] is not None, escalation[2], escalation[3] or "", changed,
                 waiting, "", False),
            )
        )  # fmt: skip
    return rows


def transit_by_specimen(
    uow: UnitOfWork, specimen_ids: Sequence[int]
) -> dict[int, tuple[int, float]]:
    """Route transit minutes and pickup time (POSIX) of the given specimens on the road.

    Specimens never picked up are left out (the engine then counts from the status change
    with the policy's transit time).
    """
    found: dict[int, tuple[int, float]] = {}
    minutes_of_route: dict[int | None, int] = {}
    wanted = sorted(set(specimen_ids))
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        pickups = uow.custody_scan.latest_of_kind(chunk, CustodyEventKind.PICKED_UP)
        manifests = uow.manifests.picked_up_items(list(pickups))
        for specimen_id, (picked_at, _who) in pickups.items():
            manifest = manifests.get(specimen_id)
            route_id = manifest.route_id if manifest is not None else None
            minutes = minutes_of_route.get(route_id)
            if minutes is None:
                minutes = transit_minutes(uow, manifest)
                minutes_of_route[route_id] = minutes
            found[specimen_id] = (minutes, posix(picked_at))
    return found


def escalate_overdue_criticals(
    uow: UnitOfWork, clock: Clock, policy: OverduePolicy, default_covering: str = ""
) -> list[EscalationSent]:
    """Hand every critical result left unacknowledged past policy to a covering clinician.

    Idempotent: each flag occurrence (test, reason, critical result time) is escalated once,
    so the sweep can run as often as the board refreshes. The ordering clinician's covering
    clinician gets it, else ``default_covering``; without either the escalation is recorded
    with no recipient, which the board shows. Commits.
    """
    now = clock.now()
    now_s = posix(now)
    engine = OverdueEngine(policy)
    sent: list[EscalationSent] = []
    fallback = uow.people.user_by_username(default_covering) if default_covering else None
    for row in evaluate_rows(uow, policy, now_s, criticals_only=True):
        for flag in row.flags:
            if flag.reason is not FlagReason.CRITICAL_NOT_ACKNOWLEDGED:
                continue
            escalate_s = engine.escalation_due_s(flag)
            if escalate_s > now_s:
                continue  # flagged on the board already; not yet the covering's turn
            since = from_posix(flag.since_s)
            if uow.board.escalation_exists(row.ordered_test_id, flag.reason.value, since):
                continue
            to_id = _covering_id(uow, row.ordering_provider_id, fallback)
            uow.board.add_escalation(
                Escalation(
                    ordered_test_id=row.ordered_test_id,
                    reason=flag.reason,
                    since_at=since,
                    due_at=from_posix(escalate_s),
                    escalated_at=now,
                    from_user_id=row.ordering_provider_id,
                    to_user_id=to_id,
                )
            )
            record_audit(
                uow,
                clock,
                action=AuditAction.CREATE,
                entity="escalation",
                entity_id=row.ordered_test_id,
                user_id=None,
                detail=f"critical result not acknowledged; to user {to_id}",
            )
            names = uow.board.user_names([to_id] if to_id else [])
            sent.append(EscalationSent(row.ordered_test_id, to_id, names.get(to_id or 0, "")))
    uow.commit()
    return sent


def _covering_id(uow: UnitOfWork, clinician_id: int | None, fallback: Any) -> int | None:
    if clinician_id is not None:
        cover = uow.board.covering_for(clinician_id)
        if cover is not None:
            return cover.covering_id
    if fallback is not None and fallback.id != clinician_id:
        return int(fallback.id)
    return None


def set_covering_clinician(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    clinician_id: int,
    covering_id: int,
) -> None:
    """Name who covers ``clinician_id``'s critical results (replaces an earlier choice).

    ``actor`` None is the operator on the command line (audited as such). Commits.

    Raises:
        PermissionDenied: without ``MANAGE_USERS``.
        NotFound: for an unknown user.
        ValidationError: when either user is not a clinician, or both are the same.
    """
    if actor is not None:
        authorize(actor, Permission.MANAGE_USERS)
    if clinician_id == covering_id:
        raise ValidationError(
            "A clinician cannot cover for themselves.", hint="Choose another clinician."
        )
    for user_id in (clinician_id, covering_id):
        user = uow.people.user(user_id)
        if user is None:
            raise NotFound(f"No user with id {user_id}.", hint="Pick a user from the list.")
        if user.role is not Role.CLINICIAN:
            raise ValidationError(
                f"{user.display_name} is not a clinician.",
                hint="Only clinicians receive or cover result escalations.",
            )
    existing = uow.board.covering_for(clinician_id)
    if existing is None:
        uow.board.set_covering(
            CoveringClinician(
                clinician_id=clinician_id, covering_id=covering_id, updated_at=clock.now()
            )
        )
    else:
        existing.covering_id = covering_id
        existing.updated_at = clock.now()
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="covering_clinician",
        entity_id=clinician_id,
        actor=actor,
        detail=f"covered by user {covering_id}",
    )
    uow.commit()


def set_covering_by_username(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    clinician: str,
    covering: str,
) -> None:
    """:func:`set_covering_clinician` for two users named by user name (the command line).

    Raises:
        PermissionDenied: without ``MANAGE_USERS``.
        NotFound: when no user has one of the names.
        ValidationError: as :func:`set_covering_clinician`.
    """
    if actor is not None:
        authorize(actor, Permission.MANAGE_USERS)
    clinician_id, covering_id = (_user_id(uow, name) for name in (clinician, covering))
    set_covering_clinician(uow, clock, actor, clinician_id, covering_id)


def _user_id(uow: UnitOfWork, username: str) -> int:
    user = uow.people.user_by_username(username)
    if user is None or user.id is None:
        raise NotFound(f"No user is named '{username[:64]}'.", hint="See 'labdesk users list'.")
    return user.id


def turnaround_stats(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, days: int = 30
) -> list[TurnaroundStat]:
    """Median and 90th percentile of collection-to-final minutes per test, last ``days``.

    Raises:
        PermissionDenied: without ``VIEW_RESULTS``.
    """
    authorize(actor, Permission.VIEW_RESULTS)
    samples = uow.board.turnaround_samples(clock.now() - timedelta(days=days))
    tests = {t.code: (t.name, t.routine_tat_min) for t in uow.catalog.tests()}
    by_test: dict[str, list[float]] = {}
    for code, minutes in samples:
        by_test.setdefault(code, []).append(max(0.0, minutes))
    stats = []
    for code in sorted(by_test):
        values = by_test[code]
        name, target = tests.get(code, (code, 0))
        stats.append(
            TurnaroundStat(
                test_code=code,
                test_name=name,
                samples=len(values),
                median_min=statistics.median(values),
                p90_min=percentile(values, 90),
                target_min=target,
            )
        )
    return stats


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (which must not be empty)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]
