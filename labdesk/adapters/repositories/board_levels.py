"""The board's first page in urgency order, read level by level from indexes.

The default board order is by urgency (the most urgent raised flag, then the due time,
then the ordered test id). That level is a CASE over the deadlines as of the read, so no
index holds it and one statement must sort every open test (100,000 rows: about 50 ms on
SQLite, each time the board is shown unfiltered or filtered to "any flag"). But a level is
easy to find with an index: a row stands at level L when its first deadline has passed and
is of level L, or when only its second one has passed and is of level L; a row with no
deadline passed has ``sort_due`` after now. So the first page is read per level, most
urgent first, each part an index range already in ``sort_due`` order that stops at the
page's end (``ix_board_entries_d1_urgency``, ``ix_board_entries_d2_urgency``,
``ix_board_entries_open_due``; migration 0018). A status or clinician filter narrows each
part (their own indexes, ``ix_board_entries_status`` and ``ix_board_entries_provider``,
also lead to the rows in ``sort_due`` order with the urgency columns at hand); sorting
their 20-40k matches took 25-30 ms on a 1M-specimen board. Later pages, other orders,
reasons and search words keep the single statement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, literal, or_, select, true

from labdesk.adapters.orm.board import board_entries as e
from labdesk.domain.board_criteria import Criteria
from labdesk.domain.overdue import Urgency

LEVELS = tuple(sorted(int(u) for u in Urgency))
"""The urgency levels a raised flag can have, most urgent first."""


def reads_by_level(c: Criteria, offset: int) -> bool:
    """True when ``c``'s page is the first page of the open tests (or of the flagged ones,
    of one status, of one clinician) in ascending urgency order: what :func:`first_page_ids`
    serves."""
    return (
        offset == 0
        and c.sort == "urgency"
        and not c.descending
        and not c.include_closed
        and c.clinician_id is None
        and not c.words
        and not c.patient_words
    )


def _narrowed(c: Criteria) -> list[ColumnElement[bool]]:
    """The filters every part of the level read applies besides the level's own terms."""
    where: list[ColumnElement[bool]] = [e.c.is_open == true()]
    if c.status is not None:
        where.append(e.c.status == c.status)
    if c.clinician:
        where.append(e.c.ordering_provider == c.clinician)
    return where


def _in_order(where: list[ColumnElement[bool]], limit: int) -> Select[Any]:
    return (
        select(e.c.ordered_test_id, e.c.sort_due)
        .where(*where)
        .order_by(e.c.sort_due, e.c.ordered_test_id)
        .limit(limit)
    )


def level_statements(c: Criteria, level: int, limit: int) -> tuple[Select[Any], Select[Any]]:
    """The first ``limit`` rows at ``level`` whose first, then only their second, deadline
    has passed (each ``(id, sort_due)`` in page order)."""
    now = literal(c.now_s)
    raised = [*_narrowed(c), e.c.sort_due <= now]  # a passed deadline: sort_due too
    first = _in_order([*raised, e.c.d1_urgency == level, e.c.d1_due <= now], limit)
    second = _in_order(
        [
            *raised,
            e.c.d2_urgency == level,
            e.c.d2_due <= now,
            or_(e.c.d1_due.is_(None), e.c.d1_due > now),
        ],
        limit,
    )
    return first, second


def reason_level_statements(c: Criteria, level: int, limit: int) -> tuple[Select[Any], ...]:
    """Like :func:`level_statements` for the rows whose deadline of ``c.reason`` has passed:
    its first deadline (then the row's level is that deadline's), or its second one (the
    level is the first deadline's when that passed too, else the second's)."""
    now = literal(c.now_s)
    raised = [*_narrowed(c), e.c.sort_due <= now]
    first = _in_order(
        [*raised, e.c.d1_reason == c.reason, e.c.d1_due <= now, e.c.d1_urgency == level], limit
    )
    if c.second_reasons is not None and c.reason not in c.second_reasons:
        return (first,)
    first_passed = e.c.d1_due <= now
    second = _in_order(
        [
            *raised,
            e.c.d2_reason == c.reason,
            e.c.d2_due <= now,
            or_(
                and_(first_passed, e.c.d1_reason != c.reason, e.c.d1_urgency == level),
                and_(or_(e.c.d1_due.is_(None), e.c.d1_due > now), e.c.d2_urgency == level),
            ),
        ],
        limit,
    )
    return first, second


def unflagged_statement(c: Criteria, limit: int) -> Select[Any]:
    """The first ``limit`` open rows with no deadline passed (their urgency sorts last)."""
    return _in_order([*_narrowed(c), e.c.sort_due > literal(c.now_s)], limit)


Run = Callable[[Select[Any]], Iterable[Sequence[Any]]]
"""Executes one statement and gives its rows (a session's ``execute``, or a bare floor's)."""


def first_page_ids(run: Run, c: Criteria, limit: int) -> list[int]:
    """The ids of the first ``limit`` rows in urgency order (see the module docstring).

    Reads only as many levels as the page needs: on a busy board the most urgent level
    alone usually fills it.
    """
    ids: list[int] = []
    parts = level_statements if c.reason is None else reason_level_statements
    for level in LEVELS:
        if len(ids) >= limit:
            return ids
        need = limit - len(ids)
        rows: list[tuple[float, int]] = []
        for statement in parts(c, level, need):
            rows += [(float(due), int(i)) for i, due in run(statement)]
        ids += [i for _, i in sorted(rows)[:need]]
    if len(ids) < limit and not c.any_flag and c.reason is None:
        ids += [int(i) for i, _ in run(unflagged_statement(c, limit - len(ids)))]
    return ids
