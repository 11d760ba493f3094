"""The owner / application role split on PostgreSQL (``labdesk db upgrade`` sets it up).

The tables belong to the role that runs ``labdesk db upgrade`` (the *owner*). Workstations
and ``labdesk hl7 serve`` connect as the *application role* (``app_role`` in the config,
``labdesk_app`` by default), which may read and add rows, and change the rows the workflow
changes, but owns nothing: it cannot ALTER a table, so it cannot ``DISABLE TRIGGER`` or drop
the append-only guards, and on the chained tables (custody events, audit entries) it holds
only SELECT and INSERT, so the database refuses an UPDATE, DELETE or TRUNCATE there even
without the triggers. Grants are re-applied on every upgrade, so tables added by later
migrations are covered.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from labdesk.adapters.append_only import CHAINED_TABLES
from labdesk.adapters.database import describe, translate_error
from labdesk.domain.errors import StorageError

#: Tables the application only reads (the schema version belongs to the owner).
READ_ONLY_TABLES = frozenset({"alembic_version"})


@dataclass(frozen=True)
class RoleSetup:
    """What ``grant_app_role`` did."""

    role: str
    created: bool
    tables: int


def grant_app_role(engine: Engine, role: str) -> RoleSetup | None:
    """Create ``role`` if needed and grant it the application's rights (PostgreSQL only).

    Returns:
        What was set up, or None on SQLite (one file, guarded by its file permissions).

    Raises:
        StorageError: if the role is the owner itself, or cannot be created or granted.
    """
    if engine.dialect.name != "postgresql":
        return None
    try:
        with engine.begin() as conn:
            owner = str(conn.scalar(text("SELECT current_user")))
            if owner == role:
                raise StorageError(
                    f"'labdesk db upgrade' runs as {role}, the application role itself: the "
                    "application would own the tables and could disable their guards.",
                    hint="Run the upgrade as the database owner (another role), and set "
                    "app_role in the config to the role the workstations connect as.",
                )
            created = _ensure_role(conn, role)
            tables = _grant(conn, role)
    except SQLAlchemyError as exc:
        raise translate_error(exc, engine.url) from exc
    return RoleSetup(role, created, tables)


def _ensure_role(conn: Connection, role: str) -> bool:
    exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if exists:
        attrs = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).one()
        if attrs[0]:
            raise StorageError(
                f"The application role {role} is a superuser: it could drop any guard.",
                hint=f"ALTER ROLE {role} NOSUPERUSER; then run 'labdesk db upgrade' again.",
            )
        return False
    try:
        with conn.begin_nested():
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'))
    except SQLAlchemyError as exc:
        raise StorageError(
            f"Cannot create the application role {role}: {exc}",
            hint=f"Ask the PostgreSQL administrator to run CREATE ROLE {role} LOGIN, or run "
            "the upgrade as a role with CREATEROLE.",
        ) from exc
    return True


def _grant(conn: Connection, role: str) -> int:
    tables = list(
        conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
    )
    quoted = f'"{role}"'
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
    conn.execute(text(f"REVOKE CREATE ON SCHEMA public FROM {quoted}"))
    for table in tables:
        conn.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM {quoted}'))
        if table in READ_ONLY_TABLES:
            rights = "SELECT"
        elif table in CHAINED_TABLES:
            rights = "SELECT, INSERT"
        else:
            rights = "SELECT, INSERT, UPDATE, DELETE"
        conn.execute(text(f'GRANT {rights} ON TABLE "{table}" TO {quoted}'))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
    return len(tables)


def describe_setup(setup: RoleSetup, engine: Engine) -> str:
    """One line for ``labdesk db upgrade``."""
    made = "created and granted" if setup.created else "granted"
    return (
        f"{describe(engine.url)}: application role {setup.role} {made} rights on "
        f"{setup.tables} tables (read and add; custody events and audit entries: no change "
        "or removal)."
    )
