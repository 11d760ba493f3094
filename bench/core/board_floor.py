"""Floors of the board scenarios: the board's own statements as bare SQL on ``sqlite3``.

A board load or re-filter ends in two statements over the board table: the count of the
query's matches and its first page. The floor runs exactly those statements (compiled once
with their values inlined) on a plain ``sqlite3`` connection, so the ratio shows what the
services, the unit of work and the Qt model add on top of the database's own work.
"""

from __future__ import annotations

import sqlite3
from functools import cache

from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql import ClauseElement

from labdesk.adapters.database import make_engine
from labdesk.adapters.repositories.board import count_statement, page_statement
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.results.board import criteria_for
from labdesk.results.board_query import PAGE_SIZE, BoardQuery


def _sql(statement: ClauseElement) -> str:
    compiled = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    return str(compiled)


@cache
def floor_statements(url: str, query: BoardQuery, now_s: float) -> tuple[str, str]:
    """``(count SQL, first page SQL)`` of ``query`` at ``now_s`` (values inlined)."""
    engine = make_engine(url)
    try:
        with UnitOfWorkFactory(engine)() as uow:
            criteria = criteria_for(uow, query, now_s)
    finally:
        engine.dispose()
    return _sql(count_statement(criteria)), _sql(page_statement(criteria, 0, PAGE_SIZE))


@cache
def _connection(url: str) -> sqlite3.Connection:
    path = make_url(url).database or ""
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


def floor_count(url: str, query: BoardQuery, now_s: float) -> int:
    """Run the query's count and first page as bare SQL; return the count."""
    count_sql, page_sql = floor_statements(url, query, now_s)
    conn = _connection(url)
    total = int(conn.execute(count_sql).fetchone()[0])
    conn.execute(page_sql).fetchall()
    return total
