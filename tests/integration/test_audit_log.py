"""The audit log on both backends: append-only, tamper detection, search, CSV export, views."""

from __future__ import annotations

import csv
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from access_world import (
    PATIENT_NAMES,
    World,
    build_world,
    drop_append_only_guard,
    use_cheap_hashing,
)
from click.testing import CliRunner
from sqlalchemy import Engine, text

from labdesk.access.audit_log import (
    export_audit_csv,
    mark_reviewed,
    search_audit_log,
    verify_audit_log,
)
from labdesk.cli import cli
from labdesk.domain.audit import AuditAction
from labdesk.domain.audit_chain import ProblemKind
from labdesk.domain.audit_query import AuditQuery
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import PermissionDenied, StorageError
from labdesk.station.patients import find_by_scan, get_patient, search_patients

INJECTIONS = [
    "'; DROP TABLE audit_entries; --",
    "' OR '1'='1",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "1; SELECT * FROM users",
    "admin'--",
    "scan\x00noise",
    "ö' UNION SELECT password_hash FROM users --",
]


@pytest.fixture
def world(engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> World:
    use_cheap_hashing(monkeypatch)
    return build_world(engine, clock)


def _views(world: World, count: int = 3) -> None:
    """``count`` audited searches by ana, one minute apart."""
    actor = world.actor("ana")
    for _ in range(count):
        with world.uow() as uow:
            search_patients(uow, world.clock, actor, "zabriskie")
        world.clock.advance(timedelta(minutes=1))


def _verify(world: World) -> tuple[bool, dict[ProblemKind, list[int]]]:
    with world.uow() as uow:
        report = verify_audit_log(uow, world.clock, world.actor("root"), record=False)
    return report.ok, {kind: report.ids(kind) for kind in ProblemKind if report.ids(kind)}


def test_views_of_patients_are_audited_with_ids_only(world: World) -> None:
    actor = world.actor("ana")
    with world.uow() as uow:
        found = search_patients(uow, world.clock, actor, "zabriskie")
    with world.uow() as uow:
        scanned = find_by_scan(uow, world.clock, actor, "WB-P900002")
    with world.uow() as uow:
        get_patient(uow, world.clock, actor, scanned.id)
    entries = world.audit()
    assert [(e.action, e.entity, e.detail) for e in entries] == [
        (AuditAction.VIEW, "patient", "search"),
        (AuditAction.VIEW, "patient", "search"),
        (AuditAction.VIEW, "patient", "wristband scan"),
        (AuditAction.VIEW, "patient", "opened"),
    ]
    assert sorted(e.entity_id for e in entries[:2]) == sorted(str(p.id) for p in found)
    assert {e.user_id for e in entries} == {actor.id}
    assert {e.station for e in entries} == {actor.station}
    names = {n for _, family, given, _ in PATIENT_NAMES for n in (family, given)}
    for entry in entries:
        assert not any(name.lower() in entry.detail.lower() for name in names)
    assert _verify(world)[0]


def test_couriers_cannot_search_patients(world: World) -> None:
    with world.uow() as uow, pytest.raises(PermissionDenied):
        search_patients(uow, world.clock, world.actor("cole"), "zabriskie")
    assert world.audit() == []


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_entries SET outcome = 'x'", "DELETE FROM audit_entries"]
)
def test_the_database_refuses_to_change_the_log(world: World, statement: str) -> None:
    _views(world, 1)
    with pytest.raises(StorageError, match="append-only"), world.uow() as uow:
        uow.session.execute(text(statement))
    assert len(world.audit()) == 2


def test_modified_deleted_and_inserted_rows_are_named(world: World, engine: Engine) -> None:
    _views(world, 5)  # 10 entries (two patients per search)
    assert _verify(world) == (True, {})
    drop_append_only_guard(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET outcome = 'denied' WHERE id = 3"))
        conn.execute(text("DELETE FROM audit_entries WHERE id = 6"))
        row = conn.execute(text("SELECT * FROM audit_entries WHERE id = 8")).mappings().one()
        forged = dict(row) | {"id": 100, "entity_id": "999", "hash": "f" * 64}
        columns = ", ".join(forged)
        values = ", ".join(f":{c}" for c in forged)
        conn.execute(text(f"INSERT INTO audit_entries ({columns}) VALUES ({values})"), forged)
    ok, problems = _verify(world)
    assert not ok
    assert problems == {
        ProblemKind.MODIFIED: [3],
        ProblemKind.DELETED: [7],
        ProblemKind.INSERTED: [100],
    }


def test_deleting_the_newest_entries_is_caught(world: World, engine: Engine) -> None:
    _views(world, 2)
    drop_append_only_guard(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE id > 2"))
    ok, problems = _verify(world)
    assert not ok
    assert problems == {ProblemKind.DELETED: [2]}


def _cli(engine: Engine, *args: str) -> tuple[int, str]:
    url = engine.url.render_as_string(hide_password=False)
    env = {"LABDESK_DATABASE_URL": url, "LABDESK_CONFIG": "/nonexistent/labdesk.toml"}
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_cli_verify_reports_and_exits_non_zero(world: World, engine: Engine) -> None:
    _views(world, 2)
    code, out = _cli(engine, "audit", "verify")
    assert code == 0, out
    assert "Audit log intact: 4 entries" in out
    code, anchor = _cli(engine, "audit", "head")
    assert code == 0
    assert anchor.strip().startswith("5:")  # the verify run above was recorded too
    drop_append_only_guard(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET detail = 'nothing to see' WHERE id = 2"))
    code, out = _cli(engine, "audit", "verify", "--anchor", anchor.strip())
    assert code == 1
    assert "AUDIT LOG TAMPERED" in out
    assert "modified: #2" in out


@pytest.mark.parametrize("needle", INJECTIONS)
def test_search_filters_take_injection_strings_literally(world: World, needle: str) -> None:
    _views(world, 1)
    admin = world.actor("root")
    query = AuditQuery(username=needle, entity=needle, entity_id=needle, text=needle)
    with world.uow() as uow:
        assert search_audit_log(uow, world.clock, admin, query) == []
        assert len(search_audit_log(uow, world.clock, admin, AuditQuery(text=""))) == 2
    actor = world.actor("ana")
    with world.uow() as uow:
        assert search_patients(uow, world.clock, actor, needle) == []
    with world.uow() as uow:
        assert uow.patients.count() == len(PATIENT_NAMES)
    assert _verify(world)[0]


def test_search_filters_and_review(world: World) -> None:
    _views(world, 2)
    admin = world.actor("root")
    ana = world.ids["ana"]
    with world.uow() as uow:
        by_user = search_audit_log(uow, world.clock, admin, AuditQuery(user_id=ana))
        by_name = search_audit_log(uow, world.clock, admin, AuditQuery(username="ANA"))
        late = search_audit_log(
            uow, world.clock, admin, AuditQuery(since=world.clock.now() - timedelta(minutes=1))
        )
        none = search_audit_log(uow, world.clock, admin, AuditQuery(action=AuditAction.DELETE))
    assert len(by_user) == len(by_name) == 4
    assert [r.id for r in by_user] == [4, 3, 2, 1]  # newest first
    assert by_user[0].username == "ana"
    assert len(late) == 2
    assert none == []
    with world.uow() as uow:
        assert mark_reviewed(uow, world.clock, admin, [1, 2], "checked with the clinic lead") == 2
        uow.commit()
    with world.uow() as uow:
        assert mark_reviewed(uow, world.clock, admin, [1], "") == 0
        rows = search_audit_log(uow, world.clock, admin, AuditQuery(action=AuditAction.REVIEW))
    assert [r.entity_id for r in rows] == ["2", "1"]


def test_only_admins_read_the_log(world: World) -> None:
    for username in ("ana", "cole", "lina", "drew"):
        with world.uow() as uow, pytest.raises(PermissionDenied):
            search_audit_log(uow, world.clock, world.actor(username), AuditQuery())


def test_csv_export_is_private_escaped_and_audited(world: World, tmp_path: Path) -> None:
    _views(world, 1)
    admin = world.actor("root")
    with world.uow() as uow:
        mark_reviewed(uow, world.clock, admin, [1], '=HYPERLINK("http://x")')
        uow.commit()
    path = tmp_path / "audit.csv"
    with world.uow() as uow:
        count = export_audit_csv(uow, world.clock, admin, AuditQuery(), path)
        uow.commit()
    assert count == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["3", "2", "1"]
    assert rows[0]["detail"].startswith("'=HYPERLINK")
    last = world.audit()[-1]
    assert (last.action, last.entity, last.detail) == (
        AuditAction.EXPORT,
        "audit_log",
        "3 entries to CSV",
    )


def test_export_to_an_unwritable_place_is_a_clear_error(world: World, tmp_path: Path) -> None:
    with world.uow() as uow, pytest.raises(Exception, match="Cannot write") as info:
        export_audit_csv(
            uow, world.clock, world.actor("root"), AuditQuery(), tmp_path / "no" / "x.csv"
        )
    assert not isinstance(info.value, StorageError)
