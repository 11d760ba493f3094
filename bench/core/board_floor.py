"""Floors of the board scenarios: the board's own statements as bare SQL on ``sqlite3``.

A board load or re-filter ends in the statements over the board table that count the
query's matches and find its first page: one page statement, or for the urgency order's
first page the level reads (:mod:`labdesk.adapters.repositories.board_levels`), recorded as
the repository issues them. The floor runs exactly those statements (compiled once for the
database's dialect with their values inlined) on a plain ``sqlite3`` connection, or a bare
psycopg connection on PostgreSQL, so the ratio shows what the services, the unit of work
and the Qt model add on top of the database's own work.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Engine, Select, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.sql import ClauseElement

from labdesk.adapters.database import make_engine
from labdesk.adapters.repositories import board_levels
from labdesk.adapters.repositories.board import count_statement, page_statement
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.results.board import criteria_for
from labdesk.results.board_query import PAGE_SIZE, BoardQuery


def _sql(statement: ClauseElement, dialect: Dialect) -> str:
    compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


@cache
def floor_statements(url: str, query: BoardQuery, now_s: float) -> tuple[str, tuple[str, ...]]:
    """``(count SQL, the first page's statements)`` of ``query`` at ``now_s`` (values inlined)."""
    engine = make_engine(url)
    try:
        dialect = engine.dialect
        with UnitOfWorkFactory(engine)() as uow:
            criteria = criteria_for(uow, query, now_s)
            page: tuple[str, ...]
            if not board_levels.reads_by_level(criteria, 0):
                page = (_sql(page_statement(criteria, 0, PAGE_SIZE), dialect),)
            else:
                issued: list[str] = []

                def run(statement: Select[Any]) -> list[Any]:
                    issued.append(_sql(statement, dialect))
                    return list(uow.session.execute(statement))

                board_levels.first_page_ids(run, criteria, PAGE_SIZE)
                page = tuple(issued)
    finally:
        engine.dispose()
    return _sql(count_statement(criteria), dialect), page


@cache
def _connection(url: str) -> Any:
    """An autocommit driver connection: ``sqlite3``, or psycopg on PostgreSQL (connected the
    way the app connects, so a password from PGPASSFILE or ``~/.pgpass`` works)."""
    if make_url(url).get_backend_name() == "postgresql":
        pooled = make_engine(url).raw_connection()
        conn = pooled.driver_connection
        conn.autocommit = True  # type: ignore[union-attr]
        _KEEP.append(pooled)  # the pool entry stays checked out with its connection
        return conn
    path = make_url(url).database or ""
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


_KEEP: list[Any] = []


def forget() -> None:
    """Close the floors' cached connections and statements (a database is going away)."""
    for pooled in _KEEP:
        pooled.close()
    _KEEP.clear()
    _connection.cache_clear()
    floor_statements.cache_clear()


Recorded = tuple[tuple[str, Any], ...]
"""Statements as the driver was given them, each with its parameters."""
_READS = ("SELECT", "WITH", "SET", "SHOW")


def record(engine: Engine, work: Callable[[], object]) -> Recorded:
    """Every read ``work`` sends through ``engine``, as the driver gets it (statement text in
    the driver's parameter style, and the parameters): the floor of a whole service call."""
    sent: list[tuple[str, Any]] = []

    def note(_c: Any, _cursor: Any, statement: str, parameters: Any, _x: Any, many: bool) -> None:
        if not many and statement.lstrip().upper().startswith(_READS):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return tuple(sent)


def replay(url: str, recorded: Recorded) -> int:
    """Send ``recorded`` again on the bare driver connection; returns the statements sent."""
    conn = _connection(url)
    for sql, parameters in recorded:
        conn.execute(sql, parameters).fetchall()
    return len(recorded)


def floor_count(url: str, query: BoardQuery, now_s: float) -> int:
    """Run the query's count and first page as bare SQL; return the count."""
    count_sql, page_sql = floor_statements(url, query, now_s)
    conn = _connection(url)
    total = int(conn.execute(count_sql).fetchone()[0])
    for sql in page_sql:
        conn.execute(sql).fetchall()
    return total
