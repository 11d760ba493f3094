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
``ix_board_entries_open_due``; migration 0018). Later pages, other orders and narrower
filters keep the single statement (a filter's own index is small enough to sort).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, literal, or_, select, true
from sqlalchemy.orm import Session

from labdesk.adapters.orm.board import board_entries as e
from labdesk.domain.board_criteria import Criteria
from labdesk.domain.overdue import Urgency

LEVELS = tuple(sorted(int(u) for u in Urgency))
"""The urgency levels a raised flag can have, most urgent first."""


def reads_by_level(c: Criteria, offset: int) -> bool:
    """True when ``c``'s page is the first page of the open tests (or of the flagged ones)
    in ascending urgency order: the case :func:`first_page_ids` serves."""
    return (
        offset == 0
        and c.sort == "urgency"
        and not c.descending
        and not c.include_closed
        and c.status is None
        and not c.clinician
        and c.clinician_id is None
        and c.reason is None
        and not c.words
        and not c.patient_words
    )


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
    raised = [e.c.is_open == true(), e.c.sort_due <= now]  # a passed deadline: sort_due too
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


def unflagged_statement(c: Criteria, limit: int) -> Select[Any]:
    """The first ``limit`` open rows with no deadline passed (their urgency sorts last)."""
    return _in_order([e.c.is_open == true(), e.c.sort_due > literal(c.now_s)], limit)


def first_page_ids(session: Session, c: Criteria, limit: int) -> list[int]:
    """The ids of the first ``limit`` rows in urgency order (see the module docstring).

    Reads only as many levels as the page needs: on a busy board the most urgent level
    alone usually fills it.
    """
    ids: list[int] = []
    for level in LEVELS:
        if len(ids) >= limit:
            return ids
        need = limit - len(ids)
        rows: list[tuple[float, int]] = []
        for statement in level_statements(c, level, need):
            rows += [(float(due), int(i)) for i, due in session.execute(statement)]
        ids += [i for _, i in sorted(rows)[:need]]
    if len(ids) < limit and not c.any_flag:
        statement = unflagged_statement(c, limit - len(ids))
        ids += [int(i) for i, _ in session.execute(statement)]
    return ids
