"""Tamper evidence: edit, delete and insert custody rows with raw SQL; verify names them."""

from __future__ import annotations

from typing import Any

import pytest
from access_world import drop_append_only_guard
from custody_world import World
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from labdesk.adapters.append_only import guard_problems
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.dto import FindingKind, VerifyReport
from labdesk.custody.pickup import scan_for_pickup, start_pickup
from labdesk.custody.timeline import specimen_timeline
from labdesk.custody.verify import verify_chains
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEvent
from labdesk.domain.errors import PermissionDenied
from labdesk.domain.hashchain import link_hash


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    built = World.build(uow_factory, clock)
    accessions = [built.specimen() for _ in range(3)]  # 3 events each: ids 1..9
    courier = built.users["chris"]
    with built.uow() as uow:
        number = start_pickup(uow, clock, courier, "CLINIC").number
    for accession in accessions[:2]:  # ids 10, 11
        with built.uow() as uow:
            scan_for_pickup(uow, clock, courier, number, accession)
    return built


def verify(world: World) -> VerifyReport:
    with world.uow() as uow:
        return verify_chains(uow)


def rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM custody_events ORDER BY id"))
        return [dict(r._mapping) for r in result]


def execute(engine: Engine, sql: str, **params: Any) -> None:
    """Run ``sql`` as an attacker with the owner's rights: the guards go first."""
    if not _guard_problems(engine):
        drop_append_only_guard(engine, "custody_events")
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def _guard_problems(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return guard_problems(session, ("custody_events",))


def kinds(report: VerifyReport) -> set[tuple[FindingKind, int | None]]:
    return {(f.kind, f.event_id) for f in report.findings}


def test_untouched_chains_verify(world: World) -> None:
    report = verify(world)
    assert report.ok
    assert report.events == 11
    assert report.specimens == 3


def test_empty_database_verifies(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        assert verify_chains(uow).ok


def test_edited_row_is_named(world: World, engine: Engine) -> None:
    execute(engine, "UPDATE custody_events SET location = 'Somewhere else' WHERE id = 5")

    report = verify(world)

    assert kinds(report) == {(FindingKind.MODIFIED, 5)}
    (finding,) = report.findings
    assert finding.seq == 2
    assert finding.accession
    assert finding.accession in finding.message


def test_edited_and_rehashed_row_is_named(world: World, engine: Engine) -> None:
    row = rows(engine)[4]
    execute(engine, "UPDATE custody_events SET note = 'forged' WHERE id = 5")
    with world.uow() as uow:
        event = uow.session.get(CustodyEvent, 5)
        assert event is not None
        content = event.content()
    execute(
        engine,
        "UPDATE custody_events SET hash = :h, chain_hash = :c WHERE id = 5",
        h=link_hash(row["prev_hash"], content),
        c=link_hash(row["chain_prev_hash"], content),
    )

    report = verify(world)

    assert (FindingKind.MODIFIED, 5) in kinds(report)
    assert {f.kind for f in report.findings} == {FindingKind.MODIFIED}
    assert any("re-hashed" in f.message for f in report.findings)


def test_deleted_row_in_the_middle_is_named(world: World, engine: Engine) -> None:
    doomed = rows(engine)[4]  # specimen 2, seq 2; seq 3 follows
    execute(engine, "DELETE FROM custody_events WHERE id = 5")

    report = verify(world)

    assert (FindingKind.DELETED, 6) in kinds(report)
    specimen_finding = [f for f in report.findings if f.chain == "specimen"]
    assert [(f.kind, f.specimen_id) for f in specimen_finding] == [
        (FindingKind.DELETED, doomed["specimen_id"])
    ]
    assert "seq 2" in specimen_finding[0].message
    assert all(f.kind is FindingKind.DELETED for f in report.findings)


def test_deleted_last_row_is_named(world: World, engine: Engine) -> None:
    execute(engine, "DELETE FROM custody_events WHERE id = 11")

    report = verify(world)

    assert [(f.kind, f.event_id) for f in report.findings] == [(FindingKind.DELETED, 10)]
    assert "from the end" in report.findings[0].message


def _insert(engine: Engine, template: dict[str, Any], **changes: Any) -> None:
    values = template | changes
    columns = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    execute(engine, f"INSERT INTO custody_events ({columns}) VALUES ({marks})", **values)


def test_inserted_row_with_made_up_links_is_named(world: World, engine: Engine) -> None:
    last = rows(engine)[-1]
    forged = {k: v for k, v in last.items() if k != "id"}
    _insert(
        engine,
        forged,
        seq=last["seq"] + 1,
        kind="received",
        hash="f" * 64,
        prev_hash=last["hash"],
        chain_prev_hash="e" * 64,
        chain_hash="d" * 64,
    )

    report = verify(world)

    assert kinds(report) == {(FindingKind.INSERTED, 12)}


def test_inserted_row_copying_the_last_link_is_named(world: World, engine: Engine) -> None:
    last = rows(engine)[-1]
    forged = {k: v for k, v in last.items() if k != "id"}
    _insert(
        engine,
        forged,
        seq=last["seq"] + 1,
        kind="received",
        hash="a" * 64,
        prev_hash=last["hash"],
        chain_prev_hash=last["chain_hash"],
        chain_hash="b" * 64,
    )

    report = verify(world)

    assert kinds(report) == {(FindingKind.INSERTED, 12)}


def test_inserted_row_before_the_first_is_named(world: World, engine: Engine) -> None:
    first = rows(engine)[0]
    _insert(engine, first, id=0, seq=0, chain_hash="c" * 64, hash="9" * 64)

    report = verify(world)

    assert (FindingKind.INSERTED, 0) in kinds(report)
    assert {f.kind for f in report.findings} == {FindingKind.INSERTED}


def test_timeline_shows_which_event_fails(world: World, engine: Engine) -> None:
    execute(engine, "UPDATE custody_events SET actor_id = actor_id WHERE id = 2")
    execute(engine, "UPDATE custody_events SET note = 'x' WHERE id = 2")
    with world.uow() as uow:
        specimen = uow.session.get(CustodyEvent, 2)
        assert specimen is not None
        timeline = specimen_timeline(uow, world.users["alex"], specimen.specimen_id)
    assert not timeline.verified
    assert [e.verified for e in timeline.entries] == [True, False, True, True]
    assert "Edited" in timeline.entries[1].problem


def test_verify_from_a_screen_needs_the_permission(world: World) -> None:
    with world.uow() as uow, pytest.raises(PermissionDenied):
        verify_chains(uow, actor=world.users["chris"])
    with world.uow() as uow:
        assert verify_chains(uow, actor=world.users["alex"]).ok
