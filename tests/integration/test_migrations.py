"""Schema migrations and the storage errors a user can meet, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import stat
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.exc import StatementError

from labdesk.adapters import migrate
from labdesk.adapters.database import check_connection, make_engine, parse_url
from labdesk.adapters.orm import metadata
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.errors import SchemaError, StorageError
from labdesk.domain.people import Role, Site, User

ORM_TABLES = set(metadata.tables)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _version_rows(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


# ---------------------------------------------------------------- upgrade


def test_upgrade_from_empty_creates_every_table(empty_engine: Engine) -> None:
    assert _tables(empty_engine) == set()
    assert migrate.schema_state(empty_engine).current is None

    before, after = migrate.upgrade(empty_engine)

    assert before is None
    assert after == migrate.head_revision()
    assert _tables(empty_engine) == ORM_TABLES | {"alembic_version"}
    assert _version_rows(empty_engine) == [migrate.head_revision()]
    migrate.require_current(empty_engine)  # does not raise


def test_second_upgrade_is_a_no_op(engine: Engine) -> None:
    head = migrate.head_revision()
    tables_before = _tables(engine)

    assert migrate.upgrade(engine) == (head, head)
    assert migrate.upgrade(engine) == (head, head)

    assert _tables(engine) == tables_before
    assert _version_rows(engine) == [head]
    assert migrate.schema_state(engine).up_to_date


def _schema_diffs(engine: Engine) -> list[Any]:
    """Differences between the database's schema and the ORM metadata.

    ``compare_type`` is on: Alembic compares the DDL each column type compiles to, and
    LabDesk's TypeDecorators compile to their ``impl`` (``UTCDateTime`` to
    ``TIMESTAMP WITH TIME ZONE``/``DATETIME``, ``StrEnumType(n)`` to ``VARCHAR(n)``), so
    they compare cleanly against the reflected columns with no custom hook.
    """
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def test_migrated_schema_matches_orm_metadata(engine: Engine) -> None:
    assert _schema_diffs(engine) == []


def test_schema_comparison_is_not_vacuous(engine: Engine) -> None:
    """A drifted schema must show up, or the test above proves nothing."""
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_patients_name_key"))
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE users ALTER COLUMN role TYPE VARCHAR(8)"))
    diffs = _schema_diffs(engine)
    assert any(d[0] == "add_index" and d[1].name == "ix_patients_name_key" for d in diffs)
    if engine.dialect.name == "postgresql":
        assert any(
            isinstance(d, list) and d[0][0] == "modify_type" and d[0][3] == "role" for d in diffs
        ), diffs


class _AbortError(Exception):
    pass


def _create_table_then_fail(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE half_written (x INTEGER)"))
        raise _AbortError


def test_failed_ddl_leaves_nothing_half_written(empty_engine: Engine) -> None:
    """migrate.upgrade relies on transactional DDL: a failed step must roll back whole.

    On SQLite this needs make_engine to take transactions away from pysqlite's legacy mode,
    which autocommits DDL.
    """
    with pytest.raises(_AbortError):
        _create_table_then_fail(empty_engine)
    assert "half_written" not in _tables(empty_engine)


# ---------------------------------------------------------------- schema checks


def test_database_from_a_newer_labdesk_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))

    with pytest.raises(SchemaError, match="newer") as excinfo:
        migrate.schema_state(engine)
    assert "9999_from_the_future" in str(excinfo.value)

    with pytest.raises(SchemaError, match="newer"):
        migrate.upgrade(engine)
    with pytest.raises(SchemaError, match="newer"):
        migrate.require_current(engine)
    # Nothing was touched.
    assert _version_rows(engine) == ["9999_from_the_future"]


def test_require_current_on_empty_database_says_to_upgrade(empty_engine: Engine) -> None:
    with pytest.raises(SchemaError) as excinfo:
        migrate.require_current(empty_engine)
    assert "labdesk db upgrade" in str(excinfo.value)
    assert "empty" in excinfo.value.message
    assert _tables(empty_engine) == set()


# ---------------------------------------------------------------- URLs and connections


@pytest.mark.parametrize("raw", ["notaurl", "mysql://x/y", "", "oracle://scott:tiger@db/orcl"])
def test_bad_url_is_a_storage_error(raw: str) -> None:
    with pytest.raises(StorageError) as excinfo:
        make_engine(raw)
    assert excinfo.value.hint
    assert "tiger" not in str(excinfo.value)


def test_bare_postgresql_url_gets_the_psycopg_driver() -> None:
    assert parse_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"


def test_unreachable_postgresql_is_reported_quickly() -> None:
    engine = make_engine("postgresql+psycopg://u:secret@127.0.0.1:1/x")
    started = time.monotonic()
    try:
        with pytest.raises(StorageError, match="Cannot reach") as excinfo:
            check_connection(engine)
    finally:
        engine.dispose()
    assert time.monotonic() - started < 10
    assert "secret" not in str(excinfo.value)
    assert excinfo.value.hint


# ---------------------------------------------------------------- SQLite specifics


def _site() -> Site:
    return Site(code="RO", name="Read-only clinic", timezone="UTC")


def _write_site(engine: Engine) -> None:
    """One small committed write through the unit of work."""
    with UnitOfWorkFactory(engine)() as uow:
        uow.people.add(_site())
        uow.commit()


def test_write_to_read_only_sqlite_is_a_storage_error(sqlite_engine: Engine) -> None:
    # Tests run as root, which ignores file modes: open the file read-only instead.
    path = sqlite_engine.url.database
    assert path
    sqlite_engine.dispose()
    ro_engine = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        check_connection(ro_engine)  # reading works
        migrate.require_current(ro_engine)
        with pytest.raises(StorageError, match="read-only") as excinfo:
            _write_site(ro_engine)
        assert "write permission" in excinfo.value.hint
    finally:
        ro_engine.dispose()


def _short_busy_timeout(engine: Engine, milliseconds: int) -> None:
    """Shorten SQLite's busy timeout (make_engine hard-codes 5 s) to keep the test fast."""

    def on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.execute(f"PRAGMA busy_timeout={milliseconds}")

    # Runs after make_engine's own listener, so it overrides its PRAGMA busy_timeout.
    event.listen(engine, "connect", on_connect)


def test_sqlite_locked_by_another_program_is_a_storage_error(sqlite_engine: Engine) -> None:
    path = sqlite_engine.url.database
    assert path
    sqlite_engine.dispose()
    engine = make_engine(f"sqlite:///{path}")
    _short_busy_timeout(engine, 200)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        with pytest.raises(StorageError, match="locked") as excinfo:
            _write_site(engine)
        assert time.monotonic() - started < 4
        assert excinfo.value.hint
    finally:
        other.execute("ROLLBACK")
        other.close()
        engine.dispose()

    # Once the other program lets go, the same write goes through.
    engine = make_engine(f"sqlite:///{path}")
    try:
        _write_site(engine)
    finally:
        engine.dispose()


def test_sqlite_file_is_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "clinic.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
        migrate.upgrade(engine)
        _write_site(engine)
        # Still owner-only after SQLite wrote to it, and so are its WAL side files.
        for candidate in (path, path.with_name(path.name + "-wal")):
            if candidate.exists():
                assert stat.S_IMODE(candidate.stat().st_mode) == 0o600, candidate
    finally:
        engine.dispose()


def _add_user_created(engine: Engine, created_at: datetime) -> None:
    with UnitOfWorkFactory(engine)() as uow:
        uow.people.add(
            User(
                username="naive",
                display_name="Naive",
                role=Role.ADMIN,
                password_hash="x",
                created_at=created_at,
            )
        )
        uow.commit()


def test_naive_datetime_is_refused_and_nothing_is_written(engine: Engine) -> None:
    naive = datetime(2026, 3, 2, 14, 0)  # noqa: DTZ001 - the point of the test
    # UTCDateTime raises ValueError; SQLAlchemy wraps it in a StatementError, which the unit
    # of work lets through untranslated: it is a programming error, not a database problem.
    with pytest.raises(StatementError, match="naive datetime"):
        _add_user_created(engine, naive)
    with UnitOfWorkFactory(engine)() as uow:
        assert uow.people.user_by_username("naive") is None
