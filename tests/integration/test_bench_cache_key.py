"""Cached bench databases are keyed on the migration scripts' text, not only the head id."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.data import datagen
from bench.harness import pg
from labdesk.adapters import migrate

pytestmark = pytest.mark.integration


def _copy_of_the_migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "versions"
    shutil.copytree(migrate.MIGRATIONS_DIR / "versions", folder)
    return folder


def test_the_digest_changes_when_a_migration_is_edited(tmp_path: Path) -> None:
    folder = _copy_of_the_migrations(tmp_path)
    before = datagen.migrations_digest(folder)
    assert datagen.migrations_digest(folder) == before  # stable
    script = sorted(folder.glob("*.py"))[-1]
    script.write_text(script.read_text() + "\n# an index added\n")
    assert datagen.migrations_digest(folder) != before


def test_the_digest_changes_when_a_migration_is_added(tmp_path: Path) -> None:
    folder = _copy_of_the_migrations(tmp_path)
    before = datagen.migrations_digest(folder)
    (folder / "9999_more.py").write_text("revision = '9999'\n")
    assert datagen.migrations_digest(folder) != before


def test_the_shipped_migrations_are_what_is_hashed() -> None:
    assert datagen.migrations_digest() == datagen.migrations_digest(
        migrate.MIGRATIONS_DIR / "versions"
    )


def test_an_edited_migration_rebuilds_the_cached_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = datagen.cached_database(specimens=200, directory=tmp_path)
    assert datagen.cached_database(specimens=200, directory=tmp_path).cached
    monkeypatch.setattr(datagen, "migrations_digest", lambda: "an index was added")
    rebuilt = datagen.cached_database(specimens=200, directory=tmp_path)
    assert not rebuilt.cached
    assert rebuilt.url != first.url
    assert len(list(tmp_path.glob("bench-s200-*.sqlite3"))) == 1  # the outdated one is gone


def test_postgresql_worlds_carry_the_migrations_too(monkeypatch: pytest.MonkeyPatch) -> None:
    before = pg.fingerprint(1000, 1)
    monkeypatch.setattr(datagen, "migrations_digest", lambda: "an index was added")
    assert pg.fingerprint(1000, 1) != before
