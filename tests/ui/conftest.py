"""Fixtures for widget tests: a migrated SQLite file with users and patients."""

from __future__ import annotations

import os
import shutil

# Before any QApplication exists (pytest-qt creates it lazily, after collection).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget

from labdesk.access.auth import create_user, session_of
from labdesk.bootstrap import Core, bootstrap
from labdesk.config import Config
from labdesk.domain.clock import FixedClock
from labdesk.domain.patient import Patient, Sex
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from ui import gc_guard
from ui.app import context_of
from ui.context import AppContext
from ui.tasks import wait_for_background_jobs

PASSWORD = "correct horse battery"
SCREEN_SIZE = (1280, 800)
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

USERS = {
    "maria": ("Maria Alvarez", Role.MEDICAL_ASSISTANT),
    "chris": ("Chris Okafor", Role.COURIER),
    "lena": ("Lena Brandt", Role.LAB_RECEIVER),
    "sam": ("Dr. Sam Patel", Role.CLINICIAN),
    "alex": ("Alex Admin", Role.ADMIN),
}

PATIENTS = (
    ("M100001", "Smith", "John", date(1980, 3, 4), Sex.MALE),
    ("M100002", "Smithers", "Jane", date(1975, 11, 20), Sex.FEMALE),
    ("M100003", "O'Brien", "Siobhán", date(1980, 3, 4), Sex.FEMALE),
    ("M100004", "Nguyen", "An", date(1992, 7, 15), Sex.UNKNOWN),
    ("M100005", "García López", "María José", date(1964, 1, 30), Sex.FEMALE),
)


@pytest.fixture(autouse=True)
def main_thread_gc(qapp: QApplication) -> Iterator[None]:
    """As in the app, cyclic garbage is freed on the UI thread only (``ui/gc_guard.py``).

    After the test: jobs finished, its closed widgets deleted, then its cycles freed here;
    tests outside ``tests/ui`` get the interpreter's own collection back.
    """
    collector = gc_guard.install(qapp)
    yield
    wait_for_background_jobs()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    collector.stop()


@pytest.fixture
def password() -> str:
    """Every ``USERS`` account's password."""
    return PASSWORD


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """Configuration of a station on a SQLite file in ``tmp_path``."""
    return Config(
        database_url=f"sqlite:///{tmp_path / 't.sqlite3'}",
        data_dir=tmp_path,
        station_code="DRAW-2",
    )


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding ``USERS`` and ``PATIENTS``, built once per session.

    Hashing five argon2id passwords per test would dominate the run; tests copy this file.
    """
    folder = tmp_path_factory.mktemp("seeded")
    path = folder / "t.sqlite3"
    clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    core = bootstrap(Config(database_url=f"sqlite:///{path}", data_dir=folder), clock=clock)
    try:
        with core.uow() as uow:
            for username, (display_name, role) in USERS.items():
                create_user(
                    uow,
                    clock,
                    username=username,
                    display_name=display_name,
                    role=role,
                    password=PASSWORD,
                )
            for mrn, family, given, born, sex in PATIENTS:
                uow.patients.add(
                    Patient(
                        mrn=mrn,
                        family_name=family,
                        given_name=given,
                        birth_date=born,
                        sex=sex,
                        created_at=clock.now(),
                    )
                )
            uow.commit()
    finally:
        core.close()  # checkpoints the WAL into the file
    return path


@pytest.fixture
def core(config: Config, clock: FixedClock, seeded_database: Path) -> Iterator[Core]:
    """A bootstrapped core on a private copy of ``seeded_database``."""
    shutil.copyfile(seeded_database, config.database_url.removeprefix("sqlite:///"))
    core = bootstrap(config, clock=clock)
    yield core
    # Jobs still running would otherwise hit a disposed engine.
    wait_for_background_jobs()
    core.close()


@pytest.fixture
def app_context(core: Core) -> AppContext:
    """What the screens see of ``core``."""
    return context_of(core)


@pytest.fixture
def user_named(core: Core) -> Callable[[str], SignedInUser]:
    """The DTO a sign-in of a ``USERS`` name returns, without the password check."""

    def lookup(username: str) -> SignedInUser:
        with core.uow() as uow:
            user = uow.people.user_by_username(username)
            assert user is not None
            return session_of(user, core.config.station_code)

    return lookup


@pytest.fixture
def screenshot() -> Callable[[QWidget, str], Path]:
    """Grab a widget into ``tests/ui/screenshots/<name>.png`` (gitignored) for review."""

    def save(widget: QWidget, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        assert widget.grab().save(str(path)), f"could not save {path}"
        return path

    return save
