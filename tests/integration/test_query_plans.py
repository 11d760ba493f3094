"""The hot paths use their indexes on PostgreSQL (issue 14 item 5).

Each test runs the repository's own query, captures the SQL it sends, and asks PostgreSQL for
its plan with sequential scans priced out (``enable_seqscan = off``). The planner then picks
any usable index, and still falls back to a sequential scan where none exists, so a
``Seq Scan`` on one of the big tables in that plan means the query cannot use an index: at a
million specimens it would read every row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkFactory
from labdesk.domain.board_criteria import Criteria

pytestmark = pytest.mark.postgres

BIG_TABLES = {
    "specimens",
    "patients",
    "ordered_tests",
    "orders",
    "board_entries",
    "manifest_items",
    "manifests",
    "print_jobs",
    "custody_events",
}
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _scans(plan: Any) -> Iterator[tuple[str, str]]:
    if isinstance(plan, dict):
        if "Node Type" in plan:
            yield plan["Node Type"], plan.get("Relation Name", "")
        for value in plan.values():
            yield from _scans(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from _scans(item)


INDEX_NODES = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}


def _plans(engine: Engine, query: Callable[[SqlAlchemyUnitOfWork], object]) -> list[Any]:
    with _statements(engine) as seen, UnitOfWorkFactory(engine)() as uow:
        query(uow)
    assert seen, "the query sent no statement"
    plans = []
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in seen:
            (plan,) = conn.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) {statement}", parameters
            ).scalar_one()
            plans.append(plan)
        conn.rollback()
    return plans


def _sequential_scans(engine: Engine, query: Callable[[SqlAlchemyUnitOfWork], object]) -> list[str]:
    return [
        relation
        for plan in _plans(engine, query)
        for node, relation in _scans(plan)
        if node == "Seq Scan" and relation in BIG_TABLES
    ]


HOT_PATHS: dict[str, Callable[[SqlAlchemyUnitOfWork], object]] = {
    "scan by accession": lambda uow: uow.specimens.by_accession("2600000017"),
    "courier scan locks the specimen": lambda uow: uow.custody_scan.lock_by_accession("2600000017"),
    "patient by MRN": lambda uow: uow.patients.by_mrn("00123456"),
    "patient by name prefix": lambda uow: uow.patients.search_name_prefix("SMI"),
    "patient by family and given": lambda uow: uow.patients.search_family_then_given("SMI", "JO"),
    "board page": lambda uow: uow.board_table.page(Criteria(now_s=NOW.timestamp()), 0, 50),
    "board count": lambda uow: uow.board_table.count(Criteria(now_s=NOW.timestamp())),
    "manifest by number": lambda uow: uow.manifests.by_number("M2603020001"),
    "manifest items": lambda uow: uow.manifests.items_with_specimens(1),
    "print jobs due": lambda uow: uow.print_queue.due_ids(NOW, "ST-01", 20),
    "print job claim": lambda uow: uow.print_queue.claim_many([1, 2, 3], NOW),
}


@pytest.mark.parametrize("path", sorted(HOT_PATHS))
def test_hot_path_reads_an_index(pg_engine: Engine, path: str) -> None:
    plans = _plans(pg_engine, HOT_PATHS[path])
    nodes = [(node, relation) for plan in plans for node, relation in _scans(plan)]
    sequential = [r for node, r in nodes if node == "Seq Scan" and r in BIG_TABLES]
    assert sequential == [], f"{path} reads every row of {sequential}"
    assert any(node in INDEX_NODES for node, _ in nodes), f"{path} uses no index: {nodes}"


def test_the_check_sees_a_query_without_an_index(pg_engine: Engine) -> None:
    from sqlalchemy import select

    from labdesk.adapters.orm import patients

    def unindexed(uow: SqlAlchemyUnitOfWork) -> object:  # given_name alone has no index
        return uow.session.execute(select(patients.c.id).where(patients.c.given_name == "X")).all()

    assert _sequential_scans(pg_engine, unindexed) != []
