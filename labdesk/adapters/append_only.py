"""Append-only guards on the hash-chained tables, and the check that they are still there.

A hash chain only *detects* tampering; these triggers make the database itself refuse an
UPDATE, DELETE or (PostgreSQL) TRUNCATE of a chained row, so neither a LabDesk bug nor the
application role can rewrite history. The table owner (or a superuser) can still drop or
disable a trigger: :func:`guard_problems` reads the catalog so ``custody verify`` and
``audit verify`` report a guard that is missing, disabled or replaced by one that no longer
refuses.

The audit log's triggers date from migration 0007; the custody ones from 0010 (frozen there:
a change here needs a new migration).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

#: Chained tables and the message their guard raises.
CHAINED_TABLES: dict[str, str] = {
    "audit_entries": "audit entries are append-only",
    "custody_events": "custody events are append-only",
}

#: Trigger names per dialect and table.
SQLITE_TRIGGERS: dict[str, tuple[str, ...]] = {
    table: (f"{table}_no_update", f"{table}_no_delete") for table in CHAINED_TABLES
}
PG_TRIGGERS: dict[str, tuple[str, ...]] = {
    table: (f"{table}_append_only", f"{table}_no_truncate") for table in CHAINED_TABLES
}


def sqlite_statements(table: str) -> list[str]:
    """CREATE TRIGGER statements refusing UPDATE and DELETE on ``table`` (SQLite)."""
    message = CHAINED_TABLES[table]
    return [
        f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        for event in ("UPDATE", "DELETE")
    ]


def postgresql_statements(table: str, *, with_row_trigger: bool = True) -> list[str]:
    """Function and triggers refusing UPDATE, DELETE and TRUNCATE on ``table`` (PostgreSQL).

    ``with_row_trigger=False`` adds only the TRUNCATE guard (the audit log's row trigger
    exists since 0007).
    """
    message = CHAINED_TABLES[table]
    statements = []
    if with_row_trigger:
        statements += [
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{message}'; END $$",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
        ]
    statements.append(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
    )
    return statements


def guard_problems(session: Session, tables: tuple[str, ...]) -> list[str]:
    """What is wrong with the append-only guards of ``tables`` (empty: all in place).

    Checks that each trigger exists, is enabled (PostgreSQL ``DISABLE TRIGGER``) and still
    refuses (its SQL or function body raises): a trigger replaced by a no-op counts as gone.
    """
    dialect = session.get_bind().dialect.name
    problems: list[str] = []
    for table in tables:
        if dialect == "postgresql":
            problems += _pg_problems(session, table)
        else:
            problems += _sqlite_problems(session, table)
    return problems


def _sqlite_problems(session: Session, table: str) -> list[str]:
    rows = session.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": table},
    )
    found = {str(name): str(sql or "") for name, sql in rows}
    problems = []
    for name in SQLITE_TRIGGERS[table]:
        sql = found.get(name)
        if sql is None:
            problems.append(f"The append-only trigger {name} on {table} is missing (dropped).")
        elif "RAISE(ABORT" not in sql.upper().replace(" ", ""):
            problems.append(f"The append-only trigger {name} on {table} no longer refuses.")
    return problems


def _pg_problems(session: Session, table: str) -> list[str]:
    rows = session.execute(
        text(
            "SELECT t.tgname, t.tgenabled, p.prosrc FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = to_regclass(:t) AND NOT t.tgisinternal"
        ),
        {"t": table},
    )
    found = {str(name): (str(enabled), str(body)) for name, enabled, body in rows}
    problems = []
    for name in PG_TRIGGERS[table]:
        state = found.get(name)
        if state is None:
            problems.append(f"The append-only trigger {name} on {table} is missing (dropped).")
        elif state[0] == "D":
            problems.append(f"The append-only trigger {name} on {table} is disabled.")
        elif state[0] == "R":
            problems.append(
                f"The append-only trigger {name} on {table} fires only in replica mode."
            )
        elif "RAISE EXCEPTION" not in state[1].upper():
            problems.append(f"The append-only trigger {name} on {table} no longer refuses.")
    return problems
