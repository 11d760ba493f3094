"""Shared fixtures: databases on both backends, units of work and a fixed clock.

Backends
    ``engine`` (and ``empty_engine``) are parametrized over ``sqlite`` and ``postgresql``.
    The PostgreSQL variant carries the ``postgres`` mark, so ``-m "not postgres"`` runs
    SQLite only. PostgreSQL comes from ``LABDESK_TEST_PG_URL``; when that is unset the
    PostgreSQL variants are skipped, unless ``LABDESK_REQUIRE_PG=1`` (CI), which turns the
    skip into a failure so a misconfigured CI cannot pass on SQLite alone.

Isolation
    SQLite: a new file in ``tmp_path`` per test. PostgreSQL: each test session works in its
    own database (see ``pg_url``), and the ``public`` schema is dropped and recreated before
    each test, so each test starts from an empty database.

Marks added at collection
    Tests under ``tests/integration`` get ``integration``, tests under ``tests/ui`` get
    ``ui``, and any test that uses ``pg_url`` (directly or through another fixture) gets
    ``postgres``.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings
from psycopg.errors import InsufficientPrivilege
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.accession import make_accession
from labdesk.domain.clock import FixedClock
from labdesk.domain.printing import LabelContent

PG_URL_ENV = "LABDESK_TEST_PG_URL"
REQUIRE_PG_ENV = "LABDESK_REQUIRE_PG"
TESTS_DIR = Path(__file__).resolve().parent

settings.register_profile("ci", deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# ---------------------------------------------------------------- collection


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add directory marks and ``postgres`` before ``-m`` deselects anything."""
    integration_dir = TESTS_DIR / "integration"
    ui_dir = TESTS_DIR / "ui"
    for item in items:
        path = Path(str(item.path)).resolve()
        if path.is_relative_to(integration_dir):
            item.add_marker(pytest.mark.integration)
        elif path.is_relative_to(ui_dir):
            item.add_marker(pytest.mark.ui)
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


# ---------------------------------------------------------------- time


@pytest.fixture
def clock() -> FixedClock:
    """A clock frozen at 2026-03-02 14:00 UTC (advance it explicitly)."""
    return FixedClock(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))


# ---------------------------------------------------------------- database URLs


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """Path of a not-yet-created SQLite file in a fresh temporary folder."""
    return tmp_path / "labdesk.sqlite3"


@pytest.fixture
def sqlite_url(sqlite_path: Path) -> str:
    """URL of a fresh SQLite file (created by the first ``make_engine``)."""
    return f"sqlite:///{sqlite_path}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a PostgreSQL database for this test session.

    Comes from ``LABDESK_TEST_PG_URL``; skips when that is unset, or fails instead when
    ``LABDESK_REQUIRE_PG=1``. When the role may create databases, the session works in a
    private database created next to the named one (and dropped at the end), so two test
    runs on one server never reset each other's schema; otherwise the named database is
    used as it is.
    """
    url = os.environ.get(PG_URL_ENV, "").strip()
    if not url:
        if os.environ.get(REQUIRE_PG_ENV) == "1":
            pytest.fail(
                f"{REQUIRE_PG_ENV}=1 but {PG_URL_ENV} is not set: PostgreSQL tests cannot be "
                "skipped here. Start PostgreSQL (.ci/start-services.sh) and export "
                f"{PG_URL_ENV}=postgresql+psycopg://labdesk:labdesk@127.0.0.1:5432/labdesk_test",
                pytrace=False,
            )
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV}")
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    base = admin.url
    private = f"{base.database}_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{private}"'))
            conn.execute(text(f'CREATE DATABASE "{private}"'))
    except ProgrammingError as exc:  # e.g. no CREATEDB privilege: share the named database
        if not isinstance(exc.orig, InsufficientPrivilege):
            raise
        admin.dispose()
        yield url
        return
    try:
        yield base.set(database=private).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{private}" WITH (FORCE)'))
        admin.dispose()


def reset_pg_schema(engine: Engine) -> None:
    """Empty a PostgreSQL database: drop and recreate the ``public`` schema."""
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


def _open_backend(request: pytest.FixtureRequest, backend: str) -> Engine:
    if backend == "sqlite":
        return make_engine(request.getfixturevalue("sqlite_url"))
    engine = make_engine(request.getfixturevalue("pg_url"))
    reset_pg_schema(engine)
    return engine


# ---------------------------------------------------------------- engines


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def backend(request: pytest.FixtureRequest) -> str:
    """Name of the backend under test (``sqlite`` or ``postgresql``)."""
    return str(request.param)


@pytest.fixture
def empty_engine(request: pytest.FixtureRequest, backend: str) -> Iterator[Engine]:
    """An engine on an empty database (no tables, no alembic_version), on each backend."""
    engine = _open_backend(request, backend)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An engine on a freshly migrated database, on each backend."""
    migrate.upgrade(empty_engine)
    return empty_engine


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite engine (for SQLite-only tests)."""
    engine = make_engine(sqlite_url)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL engine on an emptied database (for PostgreSQL-only tests)."""
    engine = make_engine(pg_url)
    try:
        reset_pg_schema(engine)
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> UnitOfWorkFactory:
    """Units of work on the migrated ``engine`` (each backend)."""
    return UnitOfWorkFactory(engine)


# ---------------------------------------------------------------- label content


@pytest.fixture
def make_content() -> Callable[..., LabelContent]:
    """Factory for label content with sensible defaults; keyword arguments override."""

    def make(**overrides: object) -> LabelContent:
        fields: dict[str, object] = {
            "accession": make_accession(2026, 1234),
            "family_name": "Doe",
            "given_name": "Jane",
            "birth_date": "1984-03-05",
            "mrn": "00123456",
            "collected_at": "2026-03-05 08:15",
            "collector_initials": "JD",
            "container": "EDTA 3 mL",
            "cap_colour": "Lavender",
            "tests": ("CBC", "HBA1C"),
            "specimen_type": "BLD",
        }
        fields.update(overrides)
        return LabelContent(**fields)  # type: ignore[arg-type]

    return make


# ---------------------------------------------------------------- interpreter exit

_EXIT_STATUS: list[int] = []


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remember pytest's verdict for ``pytest_unconfigure``."""
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter finalisation once pytest has reported.

    WORKAROUND: with PySide6 6.12, garbage collection during interpreter shutdown after a
    Qt test session sometimes aborts ("bool_dealloc: deallocating True or False"), turning
    a green run into exit 134 after every test passed. Everything has been reported and
    flushed by now, so exiting with pytest's own status loses nothing.
    """
    if _EXIT_STATUS and "PySide6.QtCore" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
