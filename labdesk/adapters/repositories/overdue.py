"""Set-based queries of the overdue engine and the clinician board (no ORM per row).

The board reads 100,000 open tests in one joined Core select. Instants come back as whole
POSIX seconds computed by the database (:class:`epoch`), and enums as their stored strings,
so no per-value Python type processing runs; test definitions are a small dictionary joined
in Python by the service.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    case,
    exists,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from labdesk.adapters import orm
from labdesk.adapters.orm.overdue import covering_clinicians, escalations
from labdesk.domain.escalation import CoveringClinician, Escalation
from labdesk.domain.order import OrderedTest, TestStatus
from labdesk.domain.result import AbnormalFlag, ResultStatus

_CRITICAL = tuple(f.value for f in AbnormalFlag if f.is_critical)
_ABNORMAL = tuple(f.value for f in AbnormalFlag if f is not AbnormalFlag.NORMAL)
_RESULTED = (TestStatus.PRELIMINARY, TestStatus.FINAL, TestStatus.NOT_PERFORMED)


class epoch(FunctionElement[float]):  # noqa: N801 - reads as the SQL function it compiles to
    """Whole POSIX seconds of a ``UTCDateTime`` column, computed by the database."""

    type = Float()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores naive UTC text, which both functions read as UTC; unixepoch() (3.38+)
    # costs a third less than strftime() over 100,000 rows.
    argument = compiler.process(element.clauses, **kw)
    if sqlite3.sqlite_version_info >= (3, 38):
        return f"unixepoch({argument})"
    return f"CAST(strftime('%s', {argument}) AS INTEGER)"


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def _raw(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The stored value without the column type's Python-side conversion."""
    return type_coerce(column, String)


def _values(statuses: Iterable[TestStatus]) -> list[str]:
    return [s.value for s in statuses]


BOARD_COLUMNS = (
    "ordered_test_id", "status", "status_changed_s", "test_code", "order_id",
    "placer_order_number", "priority", "ordering_provider", "ordering_provider_id",
    "ordered_s", "patient_id", "mrn", "family_name", "given_name", "specimen_id", "accession",
    "specimen_status", "collected_s", "specimen_changed_s",
)  # fmt: skip
"""Column order of :meth:`BoardRepository.board_rows` tuples."""


def board_select(
    statuses: Sequence[TestStatus],
    closed_since: datetime | None = None,
    test_ids: Sequence[int] | None = None,
) -> Select[Any]:
    """The board's one joined select (see :meth:`BoardRepository.board_rows`)."""
    ot, o, p, s = orm.ordered_tests, orm.orders, orm.patients, orm.specimens
    wanted: ColumnElement[bool] = ot.c.status.in_(_values(statuses))
    if closed_since is not None:
        wanted = wanted | and_(
            ot.c.status == TestStatus.ACKNOWLEDGED.value,
            ot.c.status_changed_at >= closed_since,
        )
    stmt = (
        select(
            ot.c.id,
            _raw(ot.c.status),
            epoch(ot.c.status_changed_at),
            ot.c.test_code,
            o.c.id,
            o.c.placer_order_number,
            _raw(o.c.priority),
            o.c.ordering_provider,
            o.c.ordering_provider_id,
            epoch(o.c.ordered_at),
            p.c.id,
            p.c.mrn,
            p.c.family_name,
            p.c.given_name,
            ot.c.specimen_id,
            s.c.accession,
            _raw(s.c.status),
            epoch(s.c.collected_at),
            epoch(s.c.status_changed_at),
        )
        .select_from(ot)
        .join(o, o.c.id == ot.c.order_id)
        .join(p, p.c.id == o.c.patient_id)
        .outerjoin(s, s.c.id == ot.c.specimen_id)
        .where(wanted)
    )
    if test_ids is not None:
        stmt = stmt.where(ot.c.id.in_(list(test_ids)))
    return stmt


class BoardRepository:
    """Reads for the board and the engine; writes of coverage and escalations."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def board_rows(
        self,
        statuses: Sequence[TestStatus],
        closed_since: datetime | None = None,
        test_ids: Sequence[int] | None = None,
    ) -> Sequence[tuple[Any, ...]]:
        """Ordered tests in ``statuses`` (and, when given, acknowledged since then).

        ``test_ids`` restricts the read to those ordered tests. One select joining ordered
        tests, orders, patients and specimens; tuples in :data:`BOARD_COLUMNS` order.
        """
        return self.session.execute(board_select(statuses, closed_since, test_ids)).all()

    def result_summaries(self, test_ids: Sequence[int] | None = None) -> Sequence[tuple[Any, ...]]:
        """Per resulted open test: first and last result, severity, first critical, count.

        Only current results count: a corrected row (one another row supersedes) and
        wrong-patient retractions (status W) are history. Severity is 0 normal, 1 abnormal,
        2 critical. ``test_ids`` restricts the read to those tests.
        """
        r, ot = orm.results, orm.ordered_tests
        newer = aliased(r)
        # Aggregate the stored values, then convert: stored instants sort in time order on
        # both backends, and converting three values per test beats three per result.
        received = _raw(r.c.received_at)
        flag = _raw(r.c.abnormal_flag)
        severity = case((flag.in_(_CRITICAL), 2), (flag.in_(_ABNORMAL), 1), else_=0)
        superseded = exists().where(
            newer.c.ordered_test_id == r.c.ordered_test_id, newer.c.supersedes_id == r.c.id
        )
        stmt = (
            select(
                r.c.ordered_test_id,
                epoch(func.min(received)),
                epoch(func.max(received)),
                func.max(severity),
                epoch(func.min(case((flag.in_(_CRITICAL), received)))),
                func.count(),
            )
            .join(ot, ot.c.id == r.c.ordered_test_id)
            .where(ot.c.status.in_(_values(_RESULTED)))
            .where(_raw(r.c.status) != ResultStatus.WRONG.value)
            .where(~superseded)
            .group_by(r.c.ordered_test_id)
        )
        if test_ids is not None:
            stmt = stmt.where(r.c.ordered_test_id.in_(list(test_ids)))
        return self.session.execute(stmt).all()

    def last_acknowledgements(self, test_ids: Sequence[int] | None = None) -> dict[int, float]:
        """Latest acknowledgement (POSIX seconds) of each resulted open test (or of those)."""
        a, ot = orm.acknowledgements, orm.ordered_tests
        stmt = (
            select(a.c.ordered_test_id, func.max(epoch(a.c.acknowledged_at)))
            .join(ot, ot.c.id == a.c.ordered_test_id)
            .where(ot.c.status.in_(_values(_RESULTED)))
            .group_by(a.c.ordered_test_id)
        )
        if test_ids is not None:
            stmt = stmt.where(a.c.ordered_test_id.in_(list(test_ids)))
        return {int(test_id): float(at) for test_id, at in self.session.execute(stmt)}

    def open_escalations(self, test_ids: Sequence[int] | None = None) -> Sequence[tuple[Any, ...]]:
        """``(ordered_test_id, since_s, to_user_id, to_display_name)`` of open tests."""
        e, ot, u = escalations, orm.ordered_tests, orm.users
        stmt = (
            select(e.c.ordered_test_id, epoch(e.c.since_at), e.c.to_user_id, u.c.display_name)
            .join(ot, ot.c.id == e.c.ordered_test_id)
            .outerjoin(u, u.c.id == e.c.to_user_id)
            .where(ot.c.status.in_(_values(_RESULTED)))
            .order_by(e.c.id)
        )
        if test_ids is not None:
            stmt = stmt.where(e.c.ordered_test_id.in_(list(test_ids)))
        return self.session.execute(stmt).all()

    def turnaround_samples(self, since: datetime) -> Sequence[tuple[str, float]]:
        """``(test_code, minutes)`` from collection to first final result, per test.

        Covers tests finalised or acknowledged since ``since`` (by their status change).
        """
        ot, s, r = orm.ordered_tests, orm.specimens, orm.results
        first_final = (
            select(r.c.ordered_test_id, func.min(epoch(r.c.received_at)).label("final_s"))
            .join(ot, ot.c.id == r.c.ordered_test_id)
            .where(ot.c.status_changed_at >= since)
            .where(_raw(r.c.status).in_([ResultStatus.FINAL.value, ResultStatus.CORRECTED.value]))
            .group_by(r.c.ordered_test_id)
            .subquery()
        )
        minutes = (first_final.c.final_s - epoch(s.c.collected_at)) / literal_column("60.0")
        stmt = (
            select(ot.c.test_code, type_coerce(minutes, Float))
            .join(first_final, first_final.c.ordered_test_id == ot.c.id)
            .join(s, s.c.id == ot.c.specimen_id)
            .where(ot.c.status.in_(_values((TestStatus.FINAL, TestStatus.ACKNOWLEDGED))))
        )
        return [(str(code), float(m)) for code, m in self.session.execute(stmt)]

    def unmatched_count(self) -> int:
        """Results waiting for manual matching.

        Counts the open rows of the HL7 interface's ``unmatched_results`` worklist (looked up
        by name, so the board works with or without that module), plus results stored
        without any ordered test or specimen.
        """
        r = orm.results
        stmt = select(func.count()).where(r.c.ordered_test_id.is_(None), r.c.specimen_id.is_(None))
        total = int(self.session.scalar(stmt) or 0)
        worklist = orm.metadata.tables.get("unmatched_results")
        if worklist is not None:
            query = select(func.count()).where(
                _raw(worklist.c.status) == "open", worklist.c.discrepancy_test_id.is_(None)
            )
            total += int(self.session.scalar(query) or 0)
        return total

    def open_discrepancies(self, test_ids: Sequence[int] | None = None) -> dict[int, float]:
        """When the oldest open result discrepancy of each test arrived (POSIX seconds).

        A discrepancy is a result the interface kept on its worklist because the lab had
        rejected or lost the specimen it names; it counts on the test's board row, not as an
        unmatched result.
        """
        worklist = orm.metadata.tables.get("unmatched_results")
        if worklist is None:
            return {}
        w = worklist.c
        stmt = (
            select(w.discrepancy_test_id, func.min(epoch(w.received_at)))
            .where(w.discrepancy_test_id.is_not(None), _raw(w.status) == "open")
            .group_by(w.discrepancy_test_id)
        )
        if test_ids is not None:
            stmt = stmt.where(w.discrepancy_test_id.in_(list(test_ids)))
        return {int(test_id): float(at) for test_id, at in self.session.execute(stmt)}

    def lock_tests(self, ids: Sequence[int]) -> Sequence[OrderedTest]:
        """Ordered tests by id, row-locked until commit (PostgreSQL; SQLite locks the file)."""
        stmt = (
            select(OrderedTest)
            .where(orm.ordered_tests.c.id.in_(list(ids)))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(stmt).all()

    def ordered_test(self, ordered_test_id: int) -> OrderedTest | None:
        """Ordered test by id."""
        return self.session.get(OrderedTest, ordered_test_id)

    # ------------------------------------------------------------ coverage, escalations

    def covering_for(self, clinician_id: int) -> CoveringClinician | None:
        """The covering clinician configured for ``clinician_id``."""
        stmt = select(CoveringClinician).where(covering_clinicians.c.clinician_id == clinician_id)
        return self.session.scalars(stmt).first()

    def set_covering(self, coverage: CoveringClinician) -> None:
        """Stage a new coverage row (update an existing one in place instead)."""
        self.session.add(coverage)

    def coverage(self) -> Sequence[CoveringClinician]:
        """Every coverage row."""
        return self.session.scalars(select(CoveringClinician)).all()

    def escalation_exists(self, ordered_test_id: int, reason: str, since_at: datetime) -> bool:
        """True when this flag occurrence was already escalated."""
        stmt = select(func.count()).where(
            escalations.c.ordered_test_id == ordered_test_id,
            escalations.c.reason == reason,
            escalations.c.since_at == since_at,
        )
        return bool(self.session.scalar(stmt))

    def add_escalation(self, escalation: Escalation) -> None:
        """Stage a new escalation."""
        self.session.add(escalation)
        self.session.flush()

    def escalations_for(self, ordered_test_id: int) -> Sequence[Escalation]:
        """A test's escalations, oldest first."""
        stmt = (
            select(Escalation)
            .where(escalations.c.ordered_test_id == ordered_test_id)
            .order_by(escalations.c.id)
        )
        return self.session.scalars(stmt).all()

    def acknowledgement_rows(self, ordered_test_id: int) -> Sequence[tuple[Any, ...]]:
        """``(acknowledged_at, display_name, meaning, note)`` of a test, oldest first."""
        a, u = orm.acknowledgements, orm.users
        stmt = (
            select(a.c.acknowledged_at, u.c.display_name, a.c.meaning, a.c.note)
            .join(u, u.c.id == a.c.user_id)
            .where(a.c.ordered_test_id == ordered_test_id)
            .order_by(a.c.id)
        )
        return self.session.execute(stmt).all()

    def user_names(self, user_ids: Iterable[int]) -> dict[int, str]:
        """Display names of users by id."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        stmt = select(orm.users.c.id, orm.users.c.display_name).where(orm.users.c.id.in_(ids))
        return {int(i): str(n) for i, n in self.session.execute(stmt)}


__all__ = ["BOARD_COLUMNS", "BoardRepository", "board_select", "epoch"]
