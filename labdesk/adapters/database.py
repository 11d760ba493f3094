"""Engines for SQLite (default) and PostgreSQL, with errors a user can act on."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from labdesk.domain.errors import StorageError
from labdesk.log_setup import private_folder

logger = logging.getLogger(__name__)

MAX_PORT = 65535
PG_TCP_KEEPALIVES: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
}
"""libpq TCP keep-alive settings of every PostgreSQL connection of the pool."""
URL_EXAMPLES = (
    "sqlite:////path/to/labdesk.sqlite3 or "
    "postgresql+psycopg://user:password@host:5432/labdesk?sslmode=verify-full"
)


def parse_url(raw: str) -> URL:
    """Parse and check a database URL.

    Raises:
        StorageError: if the URL is malformed or names an unsupported database.
    """
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise StorageError(
            f"'{_redact(raw)}' is not a valid database URL.",
            hint=f"Set LABDESK_DATABASE_URL to e.g. {URL_EXAMPLES}.",
        ) from exc
    except ValueError as exc:  # SQLAlchemy parses the port with int(): "host:54x2"
        raise StorageError(
            f"'{_redact(raw)}' is not a valid database URL: the port must be a number.",
            hint=f"Correct the port in LABDESK_DATABASE_URL (e.g. {URL_EXAMPLES}).",
        ) from exc
    if url.port is not None and not 1 <= url.port <= MAX_PORT:
        raise StorageError(
            f"'{_redact(raw)}' is not a valid database URL: port {url.port} is not 1 to "
            f"{MAX_PORT}.",
            hint="Correct the port in LABDESK_DATABASE_URL (PostgreSQL listens on 5432).",
        )
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise StorageError(
            f"Unsupported database '{url.get_backend_name()}'; LabDesk runs on SQLite or "
            "PostgreSQL.",
            hint=f"Use e.g. {URL_EXAMPLES}.",
        )
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def _redact(raw: str) -> str:
    """Hide a password in a URL before it reaches a message or a log."""
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return raw.split("@")[-1] if "@" in raw else raw


def describe(url: URL) -> str:
    """Short, password-free description for the status bar and logs."""
    if url.get_backend_name() == "sqlite":
        return f"SQLite {url.database or ':memory:'}"
    return f"PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide where transactions begin: pysqlite's legacy mode
    # autocommits DDL, so a failed migration would leave half a schema behind.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        # A read-only file cannot switch to WAL; writes will fail later with a clear error.
        logger.warning("SQLite database is read-only: WAL mode not enabled")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: a transaction that reads and then writes can
    # otherwise fail at once with "database is locked" (a WAL read lock is never upgraded
    # while another writer is active). Transactions are short, so waiting is cheap.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL, in-memory and ``file:`` URIs."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def check_sqlite_file(url: URL, *, create: bool = True) -> None:
    """Refuse a SQLite file that is missing (unless ``create``) or empty (zero bytes).

    A read-only command must not leave an empty database and folders behind a mistyped
    path, and a zero-length file is a truncated database (or an interrupted first start):
    giving it a fresh schema would report an empty clinic as intact.

    Raises:
        StorageError: naming the file and what to do.
    """
    path = sqlite_path(url)
    if path is None:
        return
    if not path.exists():
        if create:
            return
        raise StorageError(
            f"There is no LabDesk database at {path}.",
            hint="Check LABDESK_DATABASE_URL (or LABDESK_DATA_DIR) names the right file; "
            "'labdesk db upgrade' creates a new database there.",
        )
    if path.is_file() and path.stat().st_size == 0:
        raise StorageError(
            f"The database file {path} is empty (0 bytes): it was truncated or damaged, or "
            "its first set-up was interrupted.",
            hint="Restore it from the latest backup. If this is a new workstation with no "
            "data yet, delete the empty file and run 'labdesk db upgrade'.",
        )


def check_sqlite_integrity(engine: Engine) -> None:
    """Read every page of a SQLite file (``PRAGMA quick_check``); no-op on PostgreSQL.

    Raises:
        StorageError: when pages are damaged or the file is not a database.
    """
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as conn:
            rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
    except SQLAlchemyError as exc:
        raise translate_error(exc, engine.url) from exc
    if rows != ["ok"]:
        lines = [line for row in rows for line in row.splitlines()]
        problems = [line for line in lines if line.strip() and not line.startswith("***")]
        first = (problems or lines or ["?"])[0][:200]
        raise _damaged(describe(engine.url), f"{len(problems)} problem(s), first: {first}")


def _damaged(where: str, detail: str) -> StorageError:
    return StorageError(
        f"The database {where} is damaged ({detail}).",
        hint="Stop using it and restore it from the latest backup ('labdesk db status' "
        "checks the file); keep the damaged copy for investigation.",
    )


def _prepare_sqlite_file(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        private_folder(path.parent)
        if not path.exists():
            # Created readable by its owner only: the file holds patient data.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
    except OSError as exc:
        raise StorageError(
            f"Cannot create the database file {path}: {exc.strerror}.",
            hint="Choose a writable folder with LABDESK_DATA_DIR or LABDESK_DATABASE_URL.",
        ) from exc


def read_password_file(path: Path) -> str:
    """The database password kept in ``path`` (first line), so no config holds it in clear.

    Raises:
        StorageError: if the file is missing, unreadable, empty, or readable by others.
    """
    try:
        mode = path.stat().st_mode
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageError(
            f"Cannot read the database password file {path}: {exc}.",
            hint="Check database_password_file in the config (or "
            "LABDESK_DATABASE_PASSWORD_FILE) and the file's permissions.",
        ) from exc
    if os.name == "posix" and mode & 0o077:
        raise StorageError(
            f"The database password file {path} can be read by other users.",
            hint=f"Make it private: chmod 600 {path}",
        )
    password = lines[0].strip() if lines else ""
    if not password:
        raise StorageError(f"The database password file {path} is empty.")
    return password


def make_engine(
    raw_url: str,
    *,
    echo: bool = False,
    password_file: str = "",
    create: bool = True,
    empty_ok: bool = True,
    timeout_ms: int = 0,
) -> Engine:
    """Create an engine for ``raw_url`` with LabDesk's connection settings.

    Args:
        raw_url: the database URL (ideally without a password).
        echo: log every statement (parameters stay hidden).
        password_file: a private file holding the PostgreSQL password (libpq's PGPASSFILE
            and ``~/.pgpass`` work too when the URL has no password).
        create: create a missing SQLite file (and its folders, owner-only); False for
            commands that only read, which refuse a missing file instead.
        empty_ok: accept an existing zero-length SQLite file (``labdesk db upgrade`` gives
            it a schema on purpose); a read-only command or the app refuse it.
        timeout_ms: PostgreSQL ``statement_timeout`` and ``lock_timeout`` of every
            connection (0: none). SQLite waits at most 5 s for a lock in any case.

    Raises:
        StorageError: for a bad URL, a missing driver, an uncreatable, missing or empty
            SQLite file or an unusable password file.
    """
    url = parse_url(raw_url)
    if not (create and empty_ok):
        check_sqlite_file(url, create=create)
    if password_file and url.get_backend_name() == "postgresql":
        url = url.set(password=read_password_file(Path(password_file).expanduser()))
    # SQL parameters hold patient names and dates of birth: keep them out of logs and
    # exception messages.
    kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
    if url.get_backend_name() == "sqlite":
        _prepare_sqlite_file(url)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 5}
    else:
        # pre-ping replaces a pooled connection the server dropped (restart, cut link);
        # TCP keepalives make a silently vanished peer fail within seconds, not hours.
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5, **PG_TCP_KEEPALIVES}
        if timeout_ms > 0:
            kwargs["connect_args"]["options"] = (
                f"-c statement_timeout={int(timeout_ms)} -c lock_timeout={int(timeout_ms)}"
            )
    try:
        engine = create_engine(url, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise StorageError(
            f"No database driver for '{url.drivername}'.",
            hint="Install LabDesk with its dependencies (pip install labdesk).",
        ) from exc
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def check_connection(engine: Engine) -> None:
    """Open a connection and write-test it, translating failures.

    Raises:
        StorageError: naming the problem (unreachable, refused login, locked or read-only).
    """
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise translate_error(exc, engine.url) from exc


def is_database_error(exc: BaseException) -> bool:
    """True for SQLAlchemy's errors and the drivers' own (a raw cursor raises those)."""
    if isinstance(exc, (SQLAlchemyError, sqlite3.Error)):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.Error)


def _read_only_folder(url: URL) -> Path | None:
    """The SQLite file's folder when this user cannot create files in it (journal, WAL)."""
    path = sqlite_path(url)
    if path is None or not path.parent.exists():
        return None
    return None if os.access(path.parent, os.W_OK | os.X_OK) else path.parent


def translate_error(exc: BaseException, url: URL) -> StorageError:
    """Turn a driver error into a StorageError that names the problem and the fix."""
    where = describe(url)
    text = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip()
    detail = (text.splitlines() or [type(exc).__name__])[0]
    low = detail.lower()
    folder = _read_only_folder(url)
    if folder is not None and ("readonly" in low or "read-only" in low or "unable to open" in low):
        # SQLite writes its journal and WAL next to the file: a writable file in a
        # read-only folder fails with "unable to open", which reads like a wrong path.
        return StorageError(
            f"The folder {folder} of the database {where} is read-only: SQLite must create "
            "its journal files next to the database.",
            hint=f"Give this user write permission on {folder} (the database file alone "
            "is not enough), or move the database to a writable folder.",
        )
    if "readonly" in low or "read-only" in low:
        return StorageError(
            f"The database {where} is read-only.",
            hint="Give this user write permission on the file and its folder.",
        )
    if "malformed" in low or "not a database" in low or "file is not" in low:
        return _damaged(where, detail)
    if "locked" in low or "busy" in low:
        return StorageError(
            f"The database {where} is locked by another program.",
            hint="Close the other program using it, or wait a moment and retry.",
        )
    if "canceling statement due to" in low:  # statement_timeout / lock_timeout
        return StorageError(
            f"The database {where} took too long to answer: another station or a "
            "maintenance job is holding what this screen needs.",
            hint="Nothing was changed. Try again in a moment; if it keeps happening, ask the "
            "administrator to look for a long-running job.",
        )
    if "password authentication failed" in low or ("role" in low and "does not exist" in low):
        return StorageError(
            f"{where} refused the login: {detail}.",
            hint="Check the user name and password in LABDESK_DATABASE_URL.",
        )
    if "does not exist" in low and "database" in low:
        return StorageError(
            f"{where}: {detail}.", hint="Create the database, then run 'labdesk db upgrade'."
        )
    if "connection refused" in low or "could not translate host" in low or "timeout" in low:
        return StorageError(
            f"Cannot reach the database server {where}: {detail}.",
            hint="Check that the server is running and reachable, and the host and port in "
            "LABDESK_DATABASE_URL.",
        )
    if "unable to open" in low:
        return StorageError(
            f"Cannot open {where}: {detail}.",
            hint="Check the path in LABDESK_DATABASE_URL points at a LabDesk SQLite file.",
        )
    return StorageError(f"Database error on {where}: {detail}.", hint="See the log for details.")
