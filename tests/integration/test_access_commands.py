"""Access commands through the bus: refusals commit with their key, sessions end in one go."""

from __future__ import annotations

import pytest
from access_world import PASSWORD, PIN, STATION, World, build_world, use_cheap_hashing
from sqlalchemy import Engine, func, select

from labdesk.access.audit_log import verify_audit_log
from labdesk.access.commands import (
    AddUser,
    LockSession,
    ResetPassword,
    SetPin,
    SetUserActive,
    SignIn,
    SignInWithBadge,
    SignOut,
    StartEmergencyAccess,
    UnlockSession,
    UnlockUser,
    VerifyAuditLog,
)
from labdesk.access.users import NewUser, list_users, user_id_by_name
from labdesk.adapters.orm.commands import handled_commands
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import AuthenticationError, NotFound
from labdesk.domain.people import Role
from labdesk.domain.signin_policy import FREE_FAILURES
from labdesk.kernel.messagebus import AlreadyHandled, MessageBus


@pytest.fixture
def world(engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> World:
    use_cheap_hashing(monkeypatch)
    return build_world(engine, clock)


@pytest.fixture
def bus(world: World) -> MessageBus:
    return MessageBus(world.uow, world.clock)


def _handled(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(handled_commands.c.command)).scalars())


def _failures(world: World, username: str) -> int:
    with world.uow() as uow:
        user = uow.people.user(world.ids[username])
        assert user is not None
        return user.failed_attempts


def test_a_refused_sign_in_commits_its_audit_entry_and_its_key(
    world: World, bus: MessageBus, engine: Engine
) -> None:
    wrong = SignIn(username="ana", password="not the right passphrase", station=STATION)
    with pytest.raises(AuthenticationError, match="Wrong user name or password"):
        bus.handle(wrong)
    assert _failures(world, "ana") == 1
    # The same request sent again (a retry after a lost answer) is not another guess.
    with pytest.raises(AlreadyHandled):
        bus.handle(wrong)
    assert _failures(world, "ana") == 1
    session = bus.handle(SignIn(username="ana", password=PASSWORD, station=STATION))
    assert (session.username, session.station) == ("ana", STATION)
    assert [(e.action, e.outcome) for e in world.audit()] == [
        (AuditAction.SIGN_IN, "wrong_password"),
        (AuditAction.SIGN_IN, "success"),
    ]
    assert _handled(engine) == ["SignIn", "SignIn"]
    assert PASSWORD not in repr(SignIn(username="ana", password=PASSWORD))


def test_badge_sign_in_and_unlock_are_audited_as_such(world: World, bus: MessageBus) -> None:
    assert bus.handle(SignInWithBadge(badge_id="BADGE-0001", pin=PIN)).username == "ana"
    unlocked = bus.handle(UnlockSession(username="cole", password=PASSWORD, station=STATION))
    assert unlocked.username == "cole"
    assert [e.action for e in world.audit()] == [AuditAction.SIGN_IN, AuditAction.UNLOCK]


def test_signing_out_of_a_break_glass_session_ends_it(world: World, bus: MessageBus) -> None:
    ana = world.actor("ana")
    emergency = bus.handle(
        StartEmergencyAccess(reason="code blue in room 4, need labs", password=PASSWORD), ana
    )
    assert emergency.emergency
    ended = bus.handle(SignOut(reason="signed out"), emergency)
    assert not ended.emergency
    trail = [(e.action, e.outcome) for e in world.audit()]
    assert trail == [
        (AuditAction.BREAK_GLASS, "success"),
        (AuditAction.SIGN_OUT, "success"),
        (AuditAction.BREAK_GLASS, "ended"),
    ]


def test_locking_ends_a_break_glass_session(world: World, bus: MessageBus) -> None:
    emergency = world.actor("ana", emergency=True)
    assert not bus.handle(LockSession(reason="Locked by hand."), emergency).emergency
    assert [e.action for e in world.audit()] == [AuditAction.LOCK, AuditAction.BREAK_GLASS]
    # Without break-glass, a lock is only the lock.
    assert not bus.handle(LockSession(reason="idle"), world.actor("cole")).emergency
    assert [e.action for e in world.audit()][2:] == [AuditAction.LOCK]


def test_the_command_line_names_users_and_an_admin_screen_uses_ids(
    world: World, bus: MessageBus
) -> None:
    for _ in range(FREE_FAILURES):
        with pytest.raises(AuthenticationError):
            bus.handle(SignIn(username="cole", password="not the right passphrase"))
    assert _failures(world, "cole") == FREE_FAILURES
    with pytest.raises(AuthenticationError, match="wait"):
        bus.handle(SignIn(username="cole", password=PASSWORD))
    bus.handle(UnlockUser(user=" COLE "))  # as typed on the command line: no actor
    assert _failures(world, "cole") == 0
    assert bus.handle(SignIn(username="cole", password=PASSWORD)).username == "cole"
    with pytest.raises(NotFound, match="No user is named 'nobody'"):
        bus.handle(SetUserActive(user="nobody", active=True))
    root = world.actor("root")
    row = bus.handle(SetUserActive(user=world.ids["cole"], active=False), root)
    assert not row.active
    bus.handle(ResetPassword(user="cole", password="lanterns over quiet harbours"))
    details = [e.detail for e in world.audit() if e.action is AuditAction.UPDATE]
    assert details == [
        "unlocked after failed sign-ins (command line)",
        "disabled",
        "password reset by administrator (command line)",
    ]


def test_add_user_keeps_the_secrets_out_of_every_repr(bus: MessageBus, world: World) -> None:
    new = NewUser(
        username="ines",
        display_name="Ines Ortega",
        role=Role.LAB_RECEIVER,
        password="lanterns over quiet harbours",
        pin="907153",
    )
    command = AddUser(new=new)
    assert "lanterns" not in repr(command)
    assert "907153" not in repr(command)
    assert "907153" not in repr(SetPin(user=1, pin="907153"))
    row = bus.handle(command, world.actor("root"))
    assert (row.username, row.must_change_password, row.has_pin) == ("ines", True, True)
    assert "ines" in [r.username for r in bus.query(list_users, world.clock, None)]


def test_user_id_by_name_reads_the_name_as_sign_in_does(world: World) -> None:
    with world.uow() as uow:
        assert user_id_by_name(uow, "  Lina ") == world.ids["lina"]
        with pytest.raises(NotFound, match="labdesk users list"):
            user_id_by_name(uow, "lena")


def test_verify_audit_log_records_the_check_the_query_does_not(
    world: World, bus: MessageBus, engine: Engine
) -> None:
    assert bus.query(verify_audit_log, world.clock, None, record=False).ok
    assert world.audit() == []
    report = bus.handle(VerifyAuditLog(), world.actor("root"))
    assert report.ok
    [entry] = world.audit()
    assert (entry.action, entry.entity, entry.outcome) == (
        AuditAction.VIEW,
        "audit_log",
        "verified",
    )
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(handled_commands)).scalar_one()
    assert count == 1
