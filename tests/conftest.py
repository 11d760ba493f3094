"""Shared fixtures: databases on both backends, units of work and a fixed clock.

Backends
    ``engine`` (and ``empty_engine``) are parametrized over ``sqlite`` and ``postgresql``.
    The PostgreSQL variant carries the ``postgres`` mark, so ``-m "not postgres"`` runs
    SQLite only. PostgreSQL comes from ``LABDESK_TEST_PG_URL``; when that is unset the
    PostgreSQL variants are skipped, unless ``LABDESK_REQUIRE_PG=1`` (CI), which turns the
    skip into a failure so a misconfigured CI cannot pass on SQLite alone.

Isolation
    SQLite: each test gets its own file in ``tmp_path``, a copy of one migrated once per
    session. PostgreSQL: each test session works in its own database (see ``pg_url``),
    recreated before each test from a template migrated once per session. ``empty_engine``
    gives an empty database instead (the ``public`` schema dropped and recreated).

Worlds
    ``station_world``, ``custody_world``, ``access_world``, ``hl7_world`` and ``spool_world``
    give a small synthetic clinic on the migrated ``engine`` (each backend), built by the
    world modules over the shared seed builder (``labdesk/seed/builder.py``).

Marks added at collection
    Tests under ``tests/integration`` get ``integration``, tests under ``tests/ui`` get
    ``ui``, and any test that uses ``pg_url`` (directly or through another fixture) gets
    ``postgres``.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
from argon2 import PasswordHasher
from hypothesis import settings
from psycopg.errors import InsufficientPrivilege
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import ProgrammingError

from labdesk.access import credentials
from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.accession import make_accession
from labdesk.domain.clock import FixedClock
from labdesk.domain.printing import LabelContent

if TYPE_CHECKING:  # the world modules are imported by name, as the tests import them
    from access_world import World as AccessWorld
    from custody_world import World as CustodyWorld
    from hl7_world import World as Hl7World
    from spool_world import World as SpoolWorld
    from station_world import StationWorld

    from labdesk.adapters.downtime.station_store import StationStore

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


# ---------------------------------------------------------------- password hashing


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id at its cheapest for the whole session (the product's cost is ~0.1 s a hash).

    Worlds, demo seeds and sign-ins hash thousands of times; the algorithm, salts and
    verification are unchanged. ``tests/unit/test_access_policy.py`` checks the real cost.
    Subprocesses (the CLI tests) keep the product's hasher.
    """
    original = credentials._HASHER  # type: ignore[attr-defined]
    credentials._HASHER = PasswordHasher(  # type: ignore[attr-defined]
        time_cost=1, memory_cost=8, parallelism=1
    )
    yield
    credentials._HASHER = original  # type: ignore[attr-defined]


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


@dataclass(frozen=True)
class PgSession:
    """The session's PostgreSQL database, and how to reset it."""

    url: str
    admin: Engine | None
    """AUTOCOMMIT engine on the named database; None when the role cannot create databases."""
    database: str
    template: str
    """A migrated copy of the schema, built on first use (``fresh_migrated``)."""
    built: list[bool] = field(default_factory=list)

    def fresh_migrated(self) -> Engine:
        """The session database, recreated from the migrated template (or migrated in place).

        Copying a template takes a third of the time of running every migration.
        """
        if self.admin is None:
            engine = make_engine(self.url)
            reset_pg_schema(engine)
            migrate.upgrade(engine)
            return engine
        url = make_url(self.url)
        if not self.built:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{self.template}"'))
            template = make_engine(url.set(database=self.template).render_as_string(False))
            migrate.upgrade(template)
            template.dispose()
            self.built.append(True)
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.database}" TEMPLATE "{self.template}"'))
        return make_engine(self.url)


@pytest.fixture(scope="session")
def pg_session() -> Iterator[PgSession]:
    """The PostgreSQL database of this test session (see ``pg_url``)."""
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
    template = f"{private}_t"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{private}"'))
            conn.execute(text(f'CREATE DATABASE "{private}"'))
    except ProgrammingError as exc:  # e.g. no CREATEDB privilege: share the named database
        if not isinstance(exc.orig, InsufficientPrivilege):
            raise
        admin.dispose()
        yield PgSession(url, None, str(base.database), "")
        return
    try:
        yield PgSession(
            base.set(database=private).render_as_string(hide_password=False),
            admin,
            private,
            template,
        )
    finally:
        with admin.connect() as conn:
            for name in (private, template):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url(pg_session: PgSession) -> str:
    """URL of a PostgreSQL database for this test session.

    Comes from ``LABDESK_TEST_PG_URL``; skips when that is unset, or fails instead when
    ``LABDESK_REQUIRE_PG=1``. When the role may create databases, the session works in a
    private database created next to the named one (and dropped at the end), so two test
    runs on one server never reset each other's schema; otherwise the named database is
    used as it is.
    """
    return pg_session.url


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


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, built once; tests get a copy."""
    path = tmp_path_factory.mktemp("migrated") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


def _migrated(request: pytest.FixtureRequest, backend: str) -> Engine:
    if backend == "sqlite":
        path: Path = request.getfixturevalue("sqlite_path")
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
        return make_engine(f"sqlite:///{path}")
    session: PgSession = request.getfixturevalue("pg_session")
    return session.fresh_migrated()


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
def engine(request: pytest.FixtureRequest, backend: str) -> Iterator[Engine]:
    """An engine on a freshly migrated database, on each backend (a copy of a template)."""
    engine = _migrated(request, backend)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated SQLite engine (for SQLite-only tests)."""
    engine = _migrated(request, "sqlite")
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg_engine(pg_url: str, pg_session: PgSession) -> Iterator[Engine]:
    """A migrated PostgreSQL engine on a fresh database (for PostgreSQL-only tests)."""
    engine = pg_session.fresh_migrated()
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> UnitOfWorkFactory:
    """Units of work on the migrated ``engine`` (each backend)."""
    return UnitOfWorkFactory(engine)


# ---------------------------------------------------------------- synthetic worlds

_WORLD_FOLDERS = {
    "station_world": TESTS_DIR,
    "custody_world": TESTS_DIR,
    "access_world": TESTS_DIR,
    "hl7_world": TESTS_DIR / "integration",
    "spool_world": TESTS_DIR / "integration" / "printers",
}
"""Where each world builder lives (all of them build over ``labdesk.seed.builder``)."""


def world_module(name: str) -> ModuleType:
    """A world builder module, imported by its plain name as the test files import it.

    Its folder is appended to ``sys.path`` when missing, so a test anywhere can ask for any
    world and gets the same module (and classes) the world's own tests use.
    """
    folder = str(_WORLD_FOLDERS[name])
    if folder not in sys.path:
        sys.path.append(folder)
    return importlib.import_module(name)


@pytest.fixture
def station_world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> StationWorld:
    """Catalog, station ``DRAW-2``, one user per role, three patients (``station_world``)."""
    world: StationWorld = world_module("station_world").build_station_world(uow_factory, clock)
    return world


@pytest.fixture
def station_file(tmp_path: Path, station_world: StationWorld) -> Iterator[StationStore]:
    """A fresh station file (replica, outbox, blocks) for ``station_world``'s station."""
    from labdesk.adapters.downtime.station_store import open_station_store

    store = open_station_store(tmp_path / "station.sqlite3", station_world.station_code)
    yield store
    store.close()


@pytest.fixture
def custody_world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> CustodyWorld:
    """Two clinics, a lab, the route, couriers and staff; specimens on demand."""
    world: CustodyWorld = world_module("custody_world").World.build(uow_factory, clock)
    return world


@pytest.fixture
def access_world(engine: Engine, clock: FixedClock) -> AccessWorld:
    """Users of every role with real (session-cheap) password hashes, badges, PINs, patients."""
    world: AccessWorld = world_module("access_world").build_world(engine, clock)
    return world


@pytest.fixture
def hl7_world(engine: Engine, clock: FixedClock) -> Hl7World:
    """One patient, one order, two tubes at the lab, and an ingestor (``hl7_world``)."""
    world: Hl7World = world_module("hl7_world").build_world(engine, clock)
    return world


@pytest.fixture
def spool_world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> SpoolWorld:
    """One patient with an SST and a LAV collected at station ``STATION-T``."""
    world: SpoolWorld = world_module("spool_world").build_world(uow_factory, clock)
    return world


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
