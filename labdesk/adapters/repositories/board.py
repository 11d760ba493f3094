"""Reads and writes of the precomputed board (``board_entries``, ``board_dirty``, ``board_state``).

Every read is one bounded statement served by an index: a page (``LIMIT``), a count, or the
flag counts. Flags depend on the time of the read: a stored deadline is raised once its due
time is at or before ``now_s``, which the statements compare in SQL.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.functions import FunctionElement

from labdesk.adapters.orm.board import board_dirty, board_entries, board_state
from labdesk.adapters.orm.downtime import reconciliation_items
from labdesk.adapters.repositories import board_levels
from labdesk.domain.board_criteria import Criteria, WordMatch

_STATE_ID = 1
_TOP = "\U0010ffff"
NO_URGENCY = 9
"""Urgency rank of a row without raised flags (sorts after every real level)."""
e = board_entries

ENTRY_COLUMNS = (
    "ordered_test_id", "order_id", "placer_order_number", "test_code", "test_name", "status",
    "stat", "ordering_provider", "ordering_provider_id", "patient_id", "mrn", "patient_name",
    "accession", "specimen_status", "ordered_s", "collected_s", "result_s", "severity",
    "due_s", "d1_reason", "d1_since", "d1_due", "d2_reason", "d2_since", "d2_due",
    "escalated", "escalated_to_id", "escalated_to",
)  # fmt: skip
"""Columns of the tuples :meth:`BoardTableRepository.page` returns, in order."""
_SELECTED = tuple(e.c[name] for name in ENTRY_COLUMNS)


def _loose_distinct(column: str) -> TextClause:
    """The distinct non-null values of ``column`` among open or closed entries (``:is_open``)
    as a loose index scan: one seek per value in an index led by ``(is_open, column)``,
    instead of a ``DISTINCT`` that reads every entry (140k on a 1M-specimen board)."""
    return text(
        "WITH RECURSIVE p(v) AS ("
        f" SELECT MIN({column}) FROM board_entries WHERE is_open = :is_open"
        " UNION ALL"
        f" SELECT (SELECT MIN(b.{column}) FROM board_entries b"
        f"  WHERE b.is_open = :is_open AND b.{column} > p.v)"
        " FROM p WHERE p.v IS NOT NULL"
        ") SELECT v FROM p WHERE v IS NOT NULL"
    ).bindparams(bindparam("is_open", type_=Boolean()))


_CLINICIANS = _loose_distinct("ordering_provider")
"""The distinct ordering clinicians of one half of the board (``ix_board_entries_provider``)."""
_SECOND_REASONS = _loose_distinct("d2_reason")
"""The distinct second-deadline reasons of one half of the board (``ix_board_entries_d2``)."""


class unindexed(FunctionElement[Any]):  # noqa: N801 - reads as the SQL it compiles to
    """A column SQLite's planner must not drive the query with (``+column``).

    Without statistics on how few rows a word matches, SQLite prefers the ``is_open`` index
    over the union of the words' prefix indexes and visits every open test; the unary plus
    is SQLite's documented way to rule an index out. PostgreSQL plans this well on its own.
    """

    inherit_cache = True


@compiles(unindexed)
def _unindexed(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


def _prefix(column: Any, word: str) -> ColumnElement[bool]:
    return and_(column >= word, column < word + _TOP)


def urgency_expression(now_s: float) -> ColumnElement[int]:
    """The most urgent raised flag's level (``d1`` is stored as the more urgent deadline)."""
    now = literal(now_s)
    return case(
        (e.c.d1_due <= now, e.c.d1_urgency),
        (e.c.d2_due <= now, e.c.d2_urgency),
        else_=NO_URGENCY,
    )


def where_clause(c: Criteria, *, for_page: bool = False) -> ColumnElement[bool]:
    """The filter of ``c`` over ``board_entries``.

    Search words are the selective part when present: the broad filters then step aside
    for the words' prefix indexes. A page sorted on another column than the due time lets
    that column's index drive it too.
    """
    now = literal(c.now_s)
    words = bool(c.words or c.patient_words)
    broad = words or (for_page and c.sort not in ("due", "urgency"))

    def col(column: Any) -> Any:
        return unindexed(column) if broad else column

    parts: list[ColumnElement[bool]] = []
    if c.include_closed:
        parts.append(or_(col(e.c.is_open) == true(), e.c.closed_s >= c.closed_since_s))
    else:
        parts.append(col(e.c.is_open) == true())
    if c.status is not None:
        parts.append(col(e.c.status) == c.status)
    if c.clinician:
        parts.append(col(e.c.ordering_provider) == c.clinician)
    if c.clinician_id is not None:
        parts.append(
            or_(e.c.ordering_provider_id == c.clinician_id, e.c.escalated_to_id == c.clinician_id)
        )
    if c.any_flag:
        # sort_due is due_s, or far in the future without a deadline: one index range.
        parts.append(col(e.c.sort_due) <= now)
    if c.reason is not None:
        first = and_(e.c.d1_reason == c.reason, e.c.d1_due <= now)
        if c.second_reasons is None or c.reason in c.second_reasons:
            parts.append(or_(first, and_(e.c.d2_reason == c.reason, e.c.d2_due <= now)))
        else:  # one covering index range instead of a union of two
            parts.append(first)
    for word in c.patient_words:
        parts.append(
            or_(
                _prefix(e.c.mrn_key, word),
                _prefix(e.c.family_key, word),
                _prefix(e.c.given_key, word),
            )
        )
    for match in c.words:
        w = match.word
        options = [
            _prefix(e.c.mrn_key, w),
            _prefix(e.c.family_key, w),
            _prefix(e.c.given_key, w),
            _prefix(e.c.accession, w),
            _prefix(e.c.placer_key, w),
        ]
        if match.test_codes:
            options.append(e.c.test_code.in_(match.test_codes))
        if match.providers:
            options.append(e.c.ordering_provider.in_(match.providers))
        parts.append(or_(*options))
    return and_(true(), *parts)


def order_by(c: Criteria) -> list[Any]:
    """ORDER BY of ``c``'s sort (``descending`` flips it, ties by ordered test id included)."""
    keys: dict[str, list[tuple[Any, bool]]] = {
        # (expression, ascending for the sort's natural direction)
        "urgency": [(urgency_expression(c.now_s), True), (e.c.sort_due, True)],
        "due": [(e.c.sort_due, True)],
        "patient": [(e.c.patient_key, True)],
        "mrn": [(e.c.mrn, True)],
        "test": [(e.c.test_code, True)],
        "status": [(e.c.status_rank, True)],
        "result": [(e.c.severity, False)],
        "priority": [(e.c.stat, False)],
        "clinician": [(e.c.provider_key, True)],
        "ordered": [(e.c.ordered_s, True)],
        "collected": [(e.c.collected_s, True)],
        "accession": [(e.c.accession, True)],
    }
    terms: list[Any] = []
    for expression, ascending in keys[c.sort]:
        up = ascending != c.descending
        term = expression.asc() if up else expression.desc()
        if expression is e.c.collected_s:
            # Python's order puts a missing time last going up: first going down.
            term = term.nulls_last() if up else term.nulls_first()
        terms.append(term)
    terms.append(e.c.ordered_test_id.desc() if c.descending else e.c.ordered_test_id.asc())
    return terms


def page_statement(c: Criteria, offset: int, limit: int) -> Select[Any]:
    """The ids of ``c``'s page, in order (served by an index, without table rows)."""
    return (
        select(e.c.ordered_test_id)
        .where(where_clause(c, for_page=True))
        .order_by(*order_by(c))
        .offset(offset)
        .limit(limit)
    )


def rows_statement(ids: Sequence[int]) -> Select[Any]:
    """The entries of ``ids`` (columns in :data:`ENTRY_COLUMNS` order, any order)."""
    return select(*_SELECTED).where(e.c.ordered_test_id.in_(list(ids)))


def count_statement(c: Criteria) -> Select[Any]:
    """How many rows ``c`` matches.

    Every open test (the unfiltered board) is the count the refresh keeps on the state
    row, counted only when that is unknown (``COALESCE`` evaluates the count only then).
    """
    counted = select(func.count()).select_from(e).where(where_clause(c))
    if not c.every_open_test:
        return counted
    kept = select(board_state.c.open_entries).where(board_state.c.id == _STATE_ID)
    return select(func.coalesce(kept.scalar_subquery(), counted.scalar_subquery()))


class BoardTableRepository:
    """The board's read model."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # ------------------------------------------------------------ reads

    def page(self, criteria: Criteria, offset: int, limit: int) -> list[tuple[Any, ...]]:
        """Rows ``offset`` … ``offset + limit`` of the matches (:data:`ENTRY_COLUMNS`).

        Two statements: the page's ids from an index, then those rows by primary key
        (a page of 200 rows never makes the database visit the other 100,000).
        """
        if board_levels.reads_by_level(criteria, offset):  # the default board's first page
            ids = board_levels.first_page_ids(self.session.execute, criteria, limit)
        else:
            ids = list(self.session.scalars(page_statement(criteria, offset, limit)))
        if not ids:
            return []
        by_id = {row[0]: tuple(row) for row in self.session.execute(rows_statement(ids))}
        return [by_id[i] for i in ids if i in by_id]

    def needs_reconciliation(
        self, ids: Sequence[int], patients: Mapping[int, int] | None = None
    ) -> set[int]:
        """Which of ``ids`` have an open downtime reconciliation item (issue 12).

        An item about a test flags that test (the ``(ordered_test_id, state)`` index); an item
        about a patient's visit but no one test (the identity check refused on replay, the
        visit's tubes held with it) flags every one of ``ids`` whose patient it names
        (``patients``: test id to patient id). Without any open item it is one probe.
        """
        r = reconciliation_items.c
        if not ids or self.session.scalar(select(r.id).where(r.state == "open").limit(1)) is None:
            return set()  # the usual case: no open item at all, one probe of the state index
        found = {
            int(i)
            for i in self.session.scalars(
                select(r.ordered_test_id)
                .where(r.ordered_test_id.in_(list(ids)), r.state == "open")
                .distinct()
            )
        }
        if patients:
            visits = {
                int(p)
                for p in self.session.scalars(
                    select(r.patient_id)
                    .where(
                        r.ordered_test_id.is_(None),
                        r.patient_id.in_(sorted(set(patients.values()))),
                        r.state == "open",
                    )
                    .distinct()
                )
            }
            found |= {test for test, patient in patients.items() if patient in visits}
        return found

    def closed_count(self, since_s: float) -> int:
        """Closed entries still kept on the board (closed at or after ``since_s``).

        With the open count this is the ``include_closed`` count, as two index reads: the
        ``OR`` of the two in one statement scans every entry on PostgreSQL.
        """
        stmt = (
            select(func.count())
            .select_from(e)
            .where(e.c.closed_s >= since_s, e.c.is_open == false())
        )
        return int(self.session.scalar(stmt) or 0)

    def second_reasons(self) -> frozenset[str]:
        """Reason codes present among open tests' second deadlines."""
        return frozenset(str(r) for r in self.session.scalars(_SECOND_REASONS, {"is_open": True}))

    def count(self, criteria: Criteria) -> int:
        """How many rows match."""
        return int(self.session.scalar(count_statement(criteria)) or 0)

    def flag_counts(self, now_s: float) -> dict[str, int]:
        """Raised flags of open tests by reason code (a test counts once per reason)."""
        now = literal(now_s)
        counts: dict[str, int] = {}
        for reason_col, due_col in ((e.c.d1_reason, e.c.d1_due), (e.c.d2_reason, e.c.d2_due)):
            stmt = (
                select(reason_col, func.count())
                .where(reason_col.is_not(None), due_col <= now, e.c.is_open == true())
                .group_by(reason_col)
            )
            for reason, n in self.session.execute(stmt):
                counts[str(reason)] = counts.get(str(reason), 0) + int(n)
        return counts

    def earliest_due(self, windows: Iterable[tuple[str, float, float]]) -> float | None:
        """The earliest moment an open test's deadline comes due, over ``windows``.

        Each window ``(reason, after_s, shift_s)`` asks for the smallest ``due + shift_s``
        of a deadline of ``reason`` (first or second) due after ``after_s``. One
        statement: per window and slot a ``MIN`` that is one seek in the slot's index.
        """
        arms = [
            select(func.min(due_col) + literal(shift_s)).where(
                e.c.is_open == true(), reason_col == reason, due_col > literal(after_s)
            )
            for reason, after_s, shift_s in windows
            for reason_col, due_col in ((e.c.d1_reason, e.c.d1_due), (e.c.d2_reason, e.c.d2_due))
        ]
        if not arms:
            return None
        found = [value for value in self.session.scalars(union_all(*arms)) if value is not None]
        return float(min(found)) if found else None

    def clinicians(self) -> list[str]:
        """Every ordering clinician named on an entry, in name order.

        A loose index scan: per open/closed half, one seek in ``ix_board_entries_provider``
        (``is_open, ordering_provider, ...``) per distinct name, instead of a ``DISTINCT``
        that reads every entry (a few probes, not 140k rows, on a 1M-specimen board).
        """
        names: set[str] = set()
        for is_open in (True, False):
            names.update(str(n) for n in self.session.scalars(_CLINICIANS, {"is_open": is_open}))
        return sorted(names)

    def entry_count(self) -> int:
        """How many entries the table holds."""
        return int(self.session.scalar(select(func.count()).select_from(e)) or 0)

    def analyzed_rows(self) -> int | None:
        """The entry count when the planner's statistics were last gathered."""
        stmt = select(board_state.c.analyzed_rows).where(board_state.c.id == _STATE_ID)
        value = self.session.scalar(stmt)
        return None if value is None else int(value)

    def analyze(self) -> None:
        """Gather the query planner's statistics of the board table (and note its size).

        SQLite has none until asked: without them it would pick the open-tests index for
        every filter and visit every row.
        """
        self.session.execute(text("ANALYZE board_entries"))
        rows = self.entry_count()
        self.session.execute(
            update(board_state).where(board_state.c.id == _STATE_ID).values(analyzed_rows=rows)
        )

    # ------------------------------------------------------------ state and dirty queue

    def state(self, *, lock: bool = False) -> tuple[str, int] | None:
        """``(fingerprint, version)``, row-locked until commit when ``lock`` (PostgreSQL)."""
        stmt = select(board_state.c.fingerprint, board_state.c.version).where(
            board_state.c.id == _STATE_ID
        )
        if lock:
            stmt = stmt.with_for_update()
        row = self.session.execute(stmt).first()
        return None if row is None else (str(row[0]), int(row[1]))

    def save_state(self, fingerprint: str, *, rebuilt_s: float | None = None) -> int:
        """Record the fingerprint and bump the version; returns the new version."""
        current = self.state()
        if current is None:
            self.session.execute(
                insert(board_state).values(
                    id=_STATE_ID,
                    fingerprint=fingerprint,
                    version=1,
                    rebuilt_s=rebuilt_s,
                    generation=secrets.token_hex(16),
                )
            )
            return 1
        values: dict[str, Any] = {
            "fingerprint": fingerprint,
            "version": current[1] + 1,
            "generation": secrets.token_hex(16),
        }
        if rebuilt_s is not None:
            values["rebuilt_s"] = rebuilt_s
        self.session.execute(
            update(board_state).where(board_state.c.id == _STATE_ID).values(**values)
        )
        return current[1] + 1

    def generation(self) -> str | None:
        """A token renewed whenever entries change (None before the first refresh)."""
        stmt = select(board_state.c.generation).where(board_state.c.id == _STATE_ID)
        value = self.session.scalar(stmt)
        return None if value is None else str(value)

    def lock_state(self) -> None:
        """Serialise refreshes: create or row-lock the state row until commit."""
        if self.state(lock=True) is None:
            self.session.execute(
                insert(board_state).values(id=_STATE_ID, fingerprint="", version=0)
            )
            self.session.flush()
            self.state(lock=True)

    def has_dirty(self) -> bool:
        """True when some test changed since the last refresh."""
        return self.session.scalar(select(board_dirty.c.seq).limit(1)) is not None

    def take_dirty(self) -> list[int]:
        """Remove every queued id and return them (distinct, ascending).

        One ``DELETE ... RETURNING``: an id queued by a transaction that commits meanwhile
        stays queued for the next refresh, so no change is ever dropped.
        """
        taken = delete(board_dirty).returning(board_dirty.c.ordered_test_id)
        returned = self.session.execute(taken)
        return sorted({int(test_id) for (test_id,) in returned})

    def marker(self) -> tuple[Any, ...]:
        """``(newest queued change, state version)``: moves whenever the board's data does."""
        stmt = select(
            select(func.max(board_dirty.c.seq)).scalar_subquery(),
            select(board_state.c.version).where(board_state.c.id == _STATE_ID).scalar_subquery(),
        )
        return tuple(self.session.execute(stmt).one())

    # ------------------------------------------------------------ writes

    # Each write keeps ``board_state.open_entries`` equal to the open entries, in the same
    # transaction (the refresh holds the state row's lock); purging removes closed ones only.

    def delete_entries(self, ids: Iterable[int]) -> None:
        """Remove the entries of ``ids``."""
        wanted = list(ids)
        if wanted:
            gone = self.session.execute(
                delete(e).where(e.c.ordered_test_id.in_(wanted)).returning(e.c.is_open)
            )
            self._count_open(-sum(1 for (is_open,) in gone if is_open))

    def delete_all(self) -> None:
        """Remove every entry (a rebuild)."""
        self.session.execute(delete(e))
        self.session.execute(
            update(board_state).where(board_state.c.id == _STATE_ID).values(open_entries=0)
        )

    def insert_entries(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Insert entries (dictionaries keyed by column name), in one executemany."""
        if entries:
            self.session.execute(insert(e), list(entries))
            self._count_open(sum(1 for entry in entries if entry["is_open"]))

    def _count_open(self, change: int) -> None:
        if change:
            kept = board_state.c.open_entries
            self.session.execute(
                update(board_state)
                .where(board_state.c.id == _STATE_ID)
                .values(open_entries=kept + change)
            )

    def purge_closed(self, before_s: float) -> int:
        """Remove entries of tests closed before ``before_s``; returns how many."""
        result = self.session.execute(
            delete(e).where(e.c.is_open == false(), e.c.closed_s < before_s)
        )
        return int(getattr(result, "rowcount", 0) or 0)


__all__ = [
    "ENTRY_COLUMNS",
    "NO_URGENCY",
    "BoardTableRepository",
    "Criteria",
    "WordMatch",
    "count_statement",
    "page_statement",
    "rows_statement",
    "where_clause",
]
