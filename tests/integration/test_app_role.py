"""Issue 15 item 4: the owner / application role split, and heads anchored automatically.

PostgreSQL: ``labdesk db upgrade`` (as the owner) grants the application role what the app
needs and no more; a connection as that role (``SET ROLE``, so no password set-up) runs a
clinic day, but cannot change or remove custody events or audit entries, nor disable or drop
their triggers. The role name is unique per test run (roles are cluster-wide and other
sessions share the server).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from custody_world import World
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from labdesk.adapters.chain_anchor import AnchorFile
from labdesk.adapters.database import describe, make_engine
from labdesk.adapters.roles import grant_app_role
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.cli import cli
from labdesk.custody.pickup import scan_for_pickup, start_pickup
from labdesk.custody.verify import verify_chains
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import StorageError

ROLE = f"labdesk_app_t{os.getpid()}"


@pytest.fixture
def app_role(pg_engine: Engine) -> Iterator[str]:
    setup = grant_app_role(pg_engine, ROLE)
    assert setup is not None
    assert setup.tables > 20
    try:
        yield ROLE
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{ROLE}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{ROLE}"'))


@pytest.fixture
def app_engine(pg_url: str, app_role: str) -> Iterator[Engine]:
    """An engine whose every connection acts as the application role."""
    engine = make_engine(pg_url)

    @event.listens_for(engine, "connect")
    def _as_app(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cursor:
            cursor.execute(f'SET ROLE "{app_role}"')
        dbapi_conn.commit()

    try:
        yield engine
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_app_role_works_but_cannot_rewrite_history(app_engine: Engine, clock: FixedClock) -> None:
    world = World.build(UnitOfWorkFactory(app_engine), clock)
    accession = world.specimen()
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, clock, courier, "CLINIC").number
        uow.commit()
    with world.uow() as uow:
        scan_for_pickup(uow, clock, courier, number, accession)
        uow.commit()
    with world.uow() as uow:
        assert verify_chains(uow).ok  # the catalog checks run as the app role too

    refused = [
        "UPDATE custody_events SET note = 'x'",
        "DELETE FROM custody_events",
        "TRUNCATE custody_events",
        "UPDATE audit_entries SET detail = 'x'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
        "ALTER TABLE custody_events DISABLE TRIGGER custody_events_append_only",
        "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only",
        "DROP TRIGGER custody_events_append_only ON custody_events",
        "CREATE OR REPLACE FUNCTION custody_events_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
        "CREATE TABLE squat (id int)",
    ]
    for statement in refused:
        with app_engine.connect() as conn, pytest.raises(DBAPIError) as caught:
            conn.execute(text(statement))
        assert "permission denied" in str(caught.value) or "must be owner" in str(caught.value)


@pytest.mark.postgres
def test_grants_are_idempotent_and_refuse_the_owner_as_app_role(
    pg_engine: Engine, app_role: str
) -> None:
    again = grant_app_role(pg_engine, app_role)
    assert again is not None
    assert not again.created
    with pg_engine.connect() as conn:
        owner = str(conn.scalar(text("SELECT current_user")))
    with pytest.raises(StorageError, match="application role itself"):
        grant_app_role(pg_engine, owner)


@pytest.mark.postgres
def test_db_upgrade_sets_up_the_role_and_anchors(
    pg_url: str, pg_engine: Engine, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[labdesk]\napp_role = "{ROLE}"\n', encoding="utf-8")
    env = {
        "LABDESK_DATABASE_URL": pg_url,
        "LABDESK_CONFIG": str(config),
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
    }
    try:
        result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
        assert result.exit_code == 0, result.output
        assert f"application role {ROLE} created and granted" in result.output
        with pg_engine.connect() as conn:
            rights = set(
                conn.scalars(
                    text(
                        "SELECT privilege_type FROM information_schema.role_table_grants "
                        "WHERE grantee = :r AND table_name = 'custody_events'"
                    ),
                    {"r": ROLE},
                )
            )
        assert rights == {"SELECT", "INSERT"}
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{ROLE}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{ROLE}"'))


def test_commits_anchor_heads_outside_the_database(
    engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "anchors.jsonl"
    anchors = AnchorFile(path, describe(engine.url), every=4)
    world = World.build(UnitOfWorkFactory(engine, anchors), clock)
    for _ in range(3):
        world.specimen()  # three events in one commit each time: 3, 6, 9 counted

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    custody = [(a["count"], a["id"]) for a in lines if a["chain"] == "custody"]
    assert custody == [(3, 3), (9, 9)]  # the first, then once 4 more were appended
    assert all(a["database"] == describe(engine.url) for a in lines)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    latest = anchors.latest("custody")
    assert latest is not None
    assert (latest.count, latest.id) == (9, 9)


def test_anchors_of_another_database_are_ignored(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "anchors.jsonl"
    path.write_text(
        json.dumps(
            {
                "database": "SQLite /elsewhere",
                "chain": "custody",
                "count": 9,
                "id": 9,
                "hash": "a" * 64,
                "at": "2026-12-01T00:00:00+00:00",
            }
        )
        + "\nnot json\n",
        encoding="utf-8",
    )
    anchors = AnchorFile(path, describe(engine.url))
    assert anchors.latest("custody") is None
    with UnitOfWorkFactory(engine, anchors)() as uow:
        assert verify_chains(uow).ok
