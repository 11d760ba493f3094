"""Audit gaps of issue 11: who imported HL7, role denials, clinic time in ``hl7 worklist``.

Both backends where the database matters (the CLI runs against the test's own engine).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from access_world import use_cheap_hashing
from click.testing import CliRunner, Result
from hl7_world import ACC_LAV, World, build_world, group, obx, order_message, oru
from sqlalchemy import Engine

from labdesk.access.audit_log import verify_audit_log
from labdesk.access.auth import create_user
from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork
from labdesk.cli import cli
from labdesk.domain.audit import AuditAction, AuditEntry
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import NotFound, PermissionDenied, StorageError
from labdesk.domain.people import Role
from labdesk.domain.permissions import Permission
from labdesk.domain.result import AckMeaning
from labdesk.domain.timefmt import format_local
from labdesk.interface.worklist import match_unmatched
from labdesk.kernel.audit import DENIED_ENTITY, record_audit, record_if_denied
from labdesk.kernel.dto import RoleDenied, SignedInUser
from labdesk.results.acknowledge import acknowledge_results

PASSWORD = "tangerine lamp orbit violin"
CHICAGO = "America/Chicago"


@pytest.fixture
def world(engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> World:
    use_cheap_hashing(monkeypatch)
    return build_world(engine, clock)


@pytest.fixture
def people(world: World) -> dict[str, int]:
    """``boss`` (admin) and ``doc`` (clinician), who can sign in on the command line."""
    ids = {}
    with world.uow() as uow:
        for username, role in (("boss", Role.ADMIN), ("doc", Role.CLINICIAN)):
            ids[username] = create_user(
                uow,
                world.clock,
                username=username,
                display_name=username.title(),
                role=role,
                password=PASSWORD,
            )
        uow.commit()
    return ids


def _env(engine: Engine, tmp_path: Path, timezone: str = "UTC") -> dict[str, str]:
    return {
        "LABDESK_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_PASSWORD": PASSWORD,
        "LABDESK_TIMEZONE": timezone,
    }


def _run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _audit(world: World) -> list[AuditEntry]:
    with world.uow() as uow:
        entries = list(uow.audit.all_in_order())
        uow.session.expunge_all()
        return entries


def _chain_ok(world: World) -> bool:
    with world.uow() as uow:
        return verify_audit_log(uow, world.clock, None, record=False).ok


def _messages(tmp_path: Path) -> Path:
    """A result for the world's lavender tube and an order that creates a patient."""
    path = tmp_path / "batch.hl7"
    path.write_text(
        oru("GAP1", group("HGB", "F", obx("718-7", "12"), filler=ACC_LAV), end="\n")
        + order_message("GAP2", ("NW", "PO900", "K"), end="\n")
    )
    return path


# ---------------------------------------------------------------- a. HL7 import --user


def test_hl7_import_audits_as_the_signed_in_user(
    world: World, people: dict[str, int], engine: Engine, tmp_path: Path
) -> None:
    before = len(_audit(world))
    result = _run(
        _env(engine, tmp_path), "hl7", "import", str(_messages(tmp_path)), "--user", "boss"
    )
    assert result.exit_code == 0, result.output
    assert "2 message(s) applied" in result.output
    written = [e for e in _audit(world)[before:] if e.station == "hl7"]
    assert {e.entity for e in written} == {"hl7_message", "patient", "order"}
    assert {e.user_id for e in written} == {people["boss"]}
    assert _chain_ok(world)


def test_the_listener_still_writes_as_the_interface(world: World) -> None:
    code, _ = world.ingest(oru("MLLP1", group("HGB", "F", obx("718-7", "12"), filler=ACC_LAV)))
    assert code == "AA"
    [entry] = [e for e in _audit(world) if e.entity == "hl7_message"]
    assert (entry.user_id, entry.station) == (None, "hl7")


# ---------------------------------------------------------------- b. denials


def test_a_denied_command_is_audited_after_its_rollback(
    world: World, people: dict[str, int], engine: Engine, tmp_path: Path
) -> None:
    env = _env(engine, tmp_path)
    result = _run(env, "hl7", "import", str(_messages(tmp_path)), "--user", "doc")
    assert result.exit_code == 2
    assert "may not import HL7 messages" in result.output
    deny = [e for e in _audit(world) if e.action is AuditAction.DENY]
    assert len(deny) == 1
    entry = deny[0]
    assert (entry.entity, entry.entity_id, entry.outcome) == (
        DENIED_ENTITY,
        "import_messages",
        "denied",
    )
    assert entry.user_id == people["doc"]
    assert "labdesk.cli.hl7_cmd.import_" in entry.detail
    assert "role clinician may not import HL7 messages" in entry.detail
    with world.uow() as uow:
        assert uow.hl7.dead_letters(include_resolved=True) == []  # nothing was imported
    verified = _run(env, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "Audit log intact" in verified.output


def test_a_medical_assistant_acknowledging_leaves_a_deny_entry(world: World) -> None:
    assistant = world.users[Role.MEDICAL_ASSISTANT]
    with (
        pytest.raises(PermissionDenied, match="may not acknowledge results") as caught,
        world.uow() as uow,
    ):
        acknowledge_results(uow, world.clock, assistant, [world.tests["HGB"]], AckMeaning.REVIEWED)
    assert record_if_denied(world.uow, world.clock, caught.value)
    assert not record_if_denied(world.uow, world.clock, caught.value)  # once per attempt
    [entry] = _audit(world)
    assert entry.action is AuditAction.DENY
    assert (entry.entity, entry.entity_id) == (DENIED_ENTITY, "acknowledge_results")
    assert entry.user_id == assistant.id
    assert entry.detail.startswith("labdesk.results.acknowledge.acknowledge_results:")
    assert not entry.flagged
    assert _chain_ok(world)


def _view_then_match(world: World, actor: SignedInUser) -> None:
    """One transaction: an audited view, then a match the actor's role may not make."""
    with world.uow() as uow:
        record_audit(
            uow, world.clock, action=AuditAction.VIEW, entity="unmatched", entity_id=1, actor=actor
        )
        match_unmatched(uow, world.clock, actor, 1, world.tests["HGB"])


def test_the_denial_outlives_the_transaction_it_ended(world: World) -> None:
    with pytest.raises(RoleDenied) as caught:
        _view_then_match(world, world.users[Role.MEDICAL_ASSISTANT])
    assert caught.value.permission is Permission.MATCH_RESULTS
    record_if_denied(world.uow, world.clock, caught.value)
    entries = _audit(world)  # the view rolled back with the attempt; the denial stays
    assert [(e.action, e.entity_id) for e in entries] == [(AuditAction.DENY, "match_results")]
    assert _chain_ok(world)


def test_a_denial_in_a_break_glass_session_is_flagged(world: World) -> None:
    session = replace(world.users[Role.MEDICAL_ASSISTANT], emergency=True)  # as break-glass gives
    with pytest.raises(RoleDenied) as caught, world.uow() as uow:
        acknowledge_results(uow, world.clock, session, [world.tests["HGB"]], AckMeaning.REVIEWED)
    record_if_denied(world.uow, world.clock, caught.value)
    entry = _audit(world)[-1]
    assert entry.action is AuditAction.DENY
    assert entry.flagged
    assert entry.detail.startswith("[break-glass] ")


def test_only_denials_are_recorded_and_a_storage_failure_is_not_raised(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    assert not record_if_denied(world.uow, world.clock, NotFound("No such test."))
    assert _audit(world) == []
    with pytest.raises(RoleDenied) as caught, world.uow() as uow:
        acknowledge_results(uow, world.clock, world.users[Role.ADMIN], [1], AckMeaning.REVIEWED)

    def broken() -> SqlAlchemyUnitOfWork:
        raise StorageError("The database cannot be reached.")

    assert not record_if_denied(broken, world.clock, caught.value)
    assert "not audited" in caplog.text
    assert record_if_denied(world.uow, world.clock, caught.value)  # a later path still can


# ---------------------------------------------------------------- c. clinic time


def test_hl7_worklist_shows_clinic_time(
    world: World, people: dict[str, int], engine: Engine, tmp_path: Path
) -> None:
    framed = tmp_path / "framed.mllp"
    framed.write_bytes(b"\x0bnot hl7\x1c\r")
    unknown = tmp_path / "unknown.hl7"
    unknown.write_text(oru("TZ1", group("ZZZ", "F", obx("1-1", "1"), filler=ACC_LAV)))
    env = _env(engine, tmp_path, timezone=CHICAGO)
    imported = _run(env, "hl7", "import", str(framed), str(unknown), "--user", "boss")
    assert imported.exit_code == 0, imported.output
    listing = _run(env, "hl7", "worklist", "--user", "boss")
    assert listing.exit_code == 0, listing.output
    with world.uow() as uow:
        [dead] = uow.hl7.dead_letters(include_resolved=True)
        [unmatched] = uow.hl7.unmatched_list(None)
        rows = [
            (f"  #{dead.id} ", dead.received_at),
            (f"  #{unmatched.id} ", unmatched.received_at),
        ]
    lines = listing.output.splitlines()
    dead_line = lines.index("Dead letters: 1") + 1
    assert lines[-2] == "Unmatched results: 1"
    for line, (prefix, at) in zip([lines[dead_line], lines[-1]], rows, strict=True):
        assert line.startswith(prefix), listing.output
        assert format_local(at, CHICAGO) in line  # Chicago is 5 or 6 hours behind UTC
        assert format_local(at, "UTC") not in line
    views = [e for e in _audit(world) if e.entity == "unmatched_results"]
    assert [(v.action, v.user_id) for v in views] == [(AuditAction.VIEW, people["boss"])]
