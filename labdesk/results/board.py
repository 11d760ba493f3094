"""The clinician board: load it, then read the rows a query matches a page at a time.

A load brings the board table up to date
(:func:`~labdesk.results.board_refresh.refresh_board`: only the tests that changed are
re-evaluated), then reads the flag counts and the first page of the query's matches. Every
later read (:func:`query_board`) is one bounded indexed statement, so a clinician
re-filters or scrolls 100,000 open tests without the board ever holding them all. Flags are
computed at the read's ``now_s``: the board's load time, so the pages of one load agree with
each other and with its counts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from labdesk.domain.audit import AuditAction
from labdesk.domain.board_criteria import Criteria, WordMatch
from labdesk.domain.clock import Clock
from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import Deadline, FlagReason, OverduePolicy, posix
from labdesk.domain.permissions import Permission, allows
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.results.board_dto import Board, BoardPage, BoardRow
from labdesk.results.board_query import ANY_FLAG, PAGE_SIZE, BoardQuery, SortKey, name_words
from labdesk.results.board_refresh import KEEP_CLOSED_DAYS, refresh_board

_DEFAULT_QUERY = BoardQuery()
_CRITICALS = BoardQuery(flag=FlagReason.CRITICAL_NOT_ACKNOWLEDGED, sort=SortKey.DUE)
CRITICALS_LISTED = 50
"""Unacknowledged critical results a board load carries for its alarm (oldest first)."""
_STATUS = {s.value: s for s in TestStatus}
_REASON = {r.value: r for r in FlagReason}
_new_tuple = tuple.__new__

__all__ = [
    "KEEP_CLOSED_DAYS",
    "board_marker",
    "criteria_for",
    "due_windows",
    "load_board",
    "matching_rows",
    "overdue_tally",
    "query_board",
]


def board_marker(uow: UnitOfWork) -> tuple[Any, ...]:
    """A cheap value that changes whenever the board's data does (poll it; index probes)."""
    return (*uow.board_table.marker(), uow.board.unmatched_count())


def load_board(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    policy: OverduePolicy,
    query: BoardQuery = _DEFAULT_QUERY,
    *,
    audit: bool = True,
    station: str = "",
    page_size: int = PAGE_SIZE,
) -> Board:
    """Bring the board up to date, then count the flags and read the query's first page.

    Args:
        uow: an open unit of work (the refresh commits when it wrote, the audit entry is
            committed).
        clock: the source of "now" (the board's flags are as of this load).
        actor: the signed-in user (needs ``VIEW_RESULTS``).
        policy: the clinic's overdue policy.
        query: filter and order of the rows.
        audit: record the view in the audit log.
        station: workstation code for the audit entry.
        page_size: rows of the first page.

    Raises:
        PermissionDenied: without ``VIEW_RESULTS``.
    """
    authorize(actor, Permission.VIEW_RESULTS)
    now = clock.now()
    now_s = posix(now)
    refresh_board(uow, clock, policy)
    marker = (*uow.board_table.marker(), uow.board.unmatched_count())
    unmatched = int(marker[-1])
    counts: dict[FlagReason, int] = {
        _REASON[code]: n for code, n in uow.board_table.flag_counts(now_s).items()
    }
    clinicians = sorted(uow.board_table.clinicians(), key=str.casefold)
    criteria = criteria_for(uow, query, now_s, clinicians)
    total = uow.board_table.count(criteria)
    rows = with_notes(uow, [_row(t, now_s) for t in uow.board_table.page(criteria, 0, page_size)])
    everything = criteria_for(uow, _DEFAULT_QUERY, now_s)
    criticals: tuple[BoardRow, ...] = ()
    if allows(actor.role, Permission.ACKNOWLEDGE_RESULTS):
        alarm = criteria_for(uow, _CRITICALS, now_s)
        criticals = tuple(_row(t, now_s) for t in uow.board_table.page(alarm, 0, CRITICALS_LISTED))
    # The default query's count is the open count: not counted twice.
    open_total = total if criteria == everything else uow.board_table.count(everything)
    listed_total = open_total + uow.board_table.closed_count(everything.closed_since_s)
    if audit:
        record_audit(
            uow,
            clock,
            action=AuditAction.VIEW,
            entity="results_board",
            entity_id="open",
            actor=actor,
            station=station,
            detail=f"{total} ordered tests listed",
        )
        uow.commit()
    if unmatched:
        counts[FlagReason.UNMATCHED_RESULT] = unmatched
    next_due_s = uow.board_table.earliest_due(due_windows(now_s, policy))
    return Board(
        next_due_s=next_due_s,
        criticals=criticals,
        rows=rows,
        counts=counts,
        unmatched_results=unmatched,
        loaded_at=now,
        marker=marker,
        total=total,
        query=query,
        clinicians=tuple(clinicians),
        open_total=open_total,
        listed_total=listed_total,
    )


def due_windows(now_s: float, policy: OverduePolicy) -> list[tuple[str, float, float]]:
    """What makes the board change by time alone after ``now_s`` (see ``earliest_due``).

    A waited-for deadline passing raises its flag; a critical result (flagged at once)
    goes to the covering clinician ``critical_ack_min`` after it arrived, which the next
    board load sweeps for. Flags raised at once have nothing left to wait for.
    """
    escalate_s = 60.0 * policy.critical_ack_min
    windows = [(r.value, now_s, 0.0) for r in FlagReason if not r.at_once]
    windows.append((FlagReason.CRITICAL_NOT_ACKNOWLEDGED.value, now_s - escalate_s, escalate_s))
    return windows


def overdue_tally(
    uow: UnitOfWork, clock: Clock, policy: OverduePolicy
) -> tuple[int, dict[FlagReason, int]]:
    """Open tests and raised flags by reason, unmatched results included (for the operator).

    Brings the board table up to date first (commits when that wrote); prints of it carry
    no patient data.
    """
    refresh_board(uow, clock, policy)
    now_s = posix(clock.now())
    open_tests = uow.board_table.count(criteria_for(uow, _DEFAULT_QUERY, now_s))
    tally = {_REASON[code]: n for code, n in uow.board_table.flag_counts(now_s).items()}
    tally[FlagReason.UNMATCHED_RESULT] = uow.board.unmatched_count()
    return open_tests, tally


def query_board(
    uow: UnitOfWork,
    actor: SignedInUser,
    query: BoardQuery,
    now_s: float,
    *,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    with_total: bool = True,
) -> BoardPage:
    """Rows ``offset`` … ``offset + limit`` of the query's matches, flags as of ``now_s``.

    Reads the board as the last load left it (no refresh, no audit: the load audited the
    view). One indexed statement for the page, one for the count when asked.

    Raises:
        PermissionDenied: without ``VIEW_RESULTS``.
    """
    authorize(actor, Permission.VIEW_RESULTS)
    criteria = criteria_for(uow, query, now_s)
    total = uow.board_table.count(criteria) if with_total else None
    rows = with_notes(uow, [_row(t, now_s) for t in uow.board_table.page(criteria, offset, limit)])
    return BoardPage(offset=offset, rows=rows, total=total)


def matching_rows(
    uow: UnitOfWork, actor: SignedInUser, query: BoardQuery, now_s: float
) -> list[BoardRow]:
    """Every row the query matches, in its order (exports and bulk actions).

    Raises:
        PermissionDenied: without ``VIEW_RESULTS``.
    """
    authorize(actor, Permission.VIEW_RESULTS)
    rows: list[BoardRow] = []
    step = 5000
    criteria = criteria_for(uow, query, now_s)
    while True:
        page = uow.board_table.page(criteria, len(rows), step)
        rows.extend(with_notes(uow, [_row(t, now_s) for t in page]))
        if len(page) < step:
            return rows


def with_notes(uow: UnitOfWork, rows: list[BoardRow]) -> list[BoardRow]:
    """``rows`` with the reason each test still waiting for collection was not drawn.

    One query for the tests of the page that wait for collection (none when no row does).
    """
    waiting = [r.ordered_test_id for r in rows if r.status is TestStatus.ORDERED]
    notes = uow.preparation.missed_notes(waiting) if waiting else {}
    if notes:
        rows = [
            r._replace(note=notes[r.ordered_test_id]) if r.ordered_test_id in notes else r
            for r in rows
        ]
    return with_reconciliation(uow, rows)


def with_reconciliation(uow: UnitOfWork, rows: list[BoardRow]) -> list[BoardRow]:
    """``rows`` with ``needs_reconciliation`` set for tests with an open downtime conflict.

    Two small lookups for the page's rows only (``reconciliation_items`` by ordered test and
    state, and the visit-level items of the page's patients), so the benchmarked page query
    itself is unchanged.
    """
    if not rows:
        return rows
    flagged = uow.board_table.needs_reconciliation(
        [r.ordered_test_id for r in rows], {r.ordered_test_id: r.patient_id for r in rows}
    )
    if not flagged:
        return rows
    return [
        r._replace(needs_reconciliation=True) if r.ordered_test_id in flagged else r for r in rows
    ]


def criteria_for(
    uow: UnitOfWork, query: BoardQuery, now_s: float, clinicians: list[str] | None = None
) -> Criteria:
    """The query in the board table's terms: search words resolved to tests and clinicians.

    Words that name no test or clinician come first: SQLite drives the query with the first
    word's prefix indexes, and a name or number is far more selective than a test code.
    """
    words: list[WordMatch] = []
    if query.words:
        tests, providers = _vocabulary(uow, clinicians)
        for word in query.words:
            codes = tuple(c for c, ws in tests if any(w.startswith(word) for w in ws))
            names_hit = tuple(n for n, ws in providers if any(w.startswith(word) for w in ws))
            words.append(WordMatch(word=word, test_codes=codes, providers=names_hit))
        words.sort(key=lambda m: (bool(m.test_codes or m.providers), -len(m.word)))
    flag = query.flag
    reason = flag.value if isinstance(flag, FlagReason) else None
    return Criteria(
        now_s=now_s,
        include_closed=query.include_closed,
        closed_since_s=now_s - timedelta(days=KEEP_CLOSED_DAYS).total_seconds(),
        status=query.status.value if query.status is not None else None,
        clinician=query.clinician,
        clinician_id=query.clinician_id,
        any_flag=flag == ANY_FLAG,
        reason=reason,
        second_reasons=uow.board_table.second_reasons() if reason is not None else None,
        patient_words=query.patient_words,
        words=tuple(words),
        sort=query.sort.value,
        descending=query.descending,
    )


Vocabulary = tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]
_vocabularies: dict[tuple[str, str], Vocabulary] = {}


def _vocabulary(uow: UnitOfWork, clinicians: list[str] | None) -> Vocabulary:
    """Words of every test and clinician name, cached per board generation.

    Entries (and so their clinicians) only change when a refresh renews the generation, and
    the catalog is part of the fingerprint: the cache is exact, and saves a scan per search.
    """
    generation = uow.board_table.generation()
    key = (str(uow.engine.url), generation or "")
    cached = _vocabularies.get(key) if clinicians is None and generation else None
    if cached is not None:
        return cached
    tests = [(t.code, [t.code.casefold(), *name_words(t.name)]) for t in uow.catalog.tests()]
    names = clinicians if clinicians is not None else uow.board_table.clinicians()
    found: Vocabulary = (tests, [(n, name_words(n)) for n in names])
    if generation is not None:
        _vocabularies.clear()  # one board per process: keep the newest version only
        _vocabularies[key] = found
    return found


def _row(t: Any, now_s: float) -> BoardRow:
    """A board row from a page tuple (``ENTRY_COLUMNS``): flags are the deadlines passed."""
    (test_id, order_id, placer, code, name, status, stat, provider, provider_id, patient_id,
     mrn, patient_name, accession, spec_status, ordered_s, collected_s, result_s, severity,
     due_s, d1_reason, d1_since, d1_due, d2_reason, d2_since, d2_due, escalated,
     escalated_to_id, escalated_to) = t  # fmt: skip
    flags: tuple[Deadline, ...] = ()
    waiting: FlagReason | None = None
    if d1_reason is not None:
        if d1_due <= now_s:
            flags = (_new_tuple(Deadline, (_REASON[d1_reason], d1_since, d1_due)),)
        else:
            waiting = _REASON[d1_reason]
    if d2_reason is not None:
        if d2_due <= now_s:
            flags = (*flags, _new_tuple(Deadline, (_REASON[d2_reason], d2_since, d2_due)))
        elif waiting is None:
            waiting = _REASON[d2_reason]
    return BoardRow(
        ordered_test_id=test_id,
        order_id=order_id,
        placer_order_number=placer,
        test_code=code,
        test_name=name,
        status=_STATUS[status],
        stat=bool(stat),
        ordering_provider=provider,
        ordering_provider_id=provider_id,
        patient_id=patient_id,
        mrn=mrn,
        patient_name=patient_name,
        accession=accession,
        specimen_status=spec_status,
        ordered_s=ordered_s,
        collected_s=collected_s,
        result_s=result_s,
        severity=severity,
        due_s=due_s,
        flags=flags,
        escalated=bool(escalated),
        escalated_to_id=escalated_to_id,
        escalated_to=escalated_to,
        waiting=waiting,
    )
