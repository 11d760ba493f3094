"""Sign-in on both backends: passwords, badge + PIN, throttling, lockout, account states, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from access_world import BADGES, PASSWORD, PIN, STATION, World, build_world, use_cheap_hashing
from sqlalchemy import Engine

from labdesk.access.auth import authenticate, authenticate_badge, change_own_password
from labdesk.access.emergency import end_emergency_access, start_emergency_access
from labdesk.access.users import (
    remove_user,
    set_active,
    set_badge,
    unlock_user,
    update_details,
)
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import AuthenticationError, PermissionDenied, ValidationError
from labdesk.domain.permissions import Permission
from labdesk.domain.signin_policy import FREE_FAILURES, MAX_FAILED_ATTEMPTS
from labdesk.kernel.dto import authorize


@pytest.fixture
def world(engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> World:
    use_cheap_hashing(monkeypatch)
    return build_world(engine, clock)


def _sign_in(world: World, username: str, password: str) -> None:
    with world.uow() as uow:
        authenticate(uow, world.clock, username, password, station=STATION)


def _refused(world: World, username: str, password: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        _sign_in(world, username, password)
    return info.value


def _outcomes(world: World) -> list[str]:
    return [e.outcome for e in world.audit() if e.action is AuditAction.SIGN_IN]


def test_sign_in_returns_the_session_at_the_station(world: World) -> None:
    with world.uow() as uow:
        user = authenticate(uow, world.clock, "  ANA ", PASSWORD, station=STATION)
    assert (user.username, user.station, user.emergency) == ("ana", STATION, False)
    [entry] = world.audit()
    assert (entry.action, entry.outcome, entry.user_id, entry.station) == (
        AuditAction.SIGN_IN,
        "success",
        user.id,
        STATION,
    )
    assert PASSWORD not in entry.detail


def test_wrong_password_then_progressive_wait_then_lockout(world: World) -> None:
    messages = []
    for failures in range(1, MAX_FAILED_ATTEMPTS + 1):
        messages.append(_refused(world, "ana", "not the right passphrase").message)
        if FREE_FAILURES <= failures < MAX_FAILED_ATTEMPTS:
            # Trying again at once is refused without even checking the password.
            assert "wait" in _refused(world, "ana", PASSWORD).message
        world.clock.advance(timedelta(seconds=61))
    assert messages[0] == "Wrong user name or password."
    assert "locked for 15 minutes" in messages[-1]
    # Locked: even the right password is refused, with a clear message and a hint.
    error = _refused(world, "ana", PASSWORD)
    assert "locked" in error.message
    assert "administrator" in error.hint
    world.clock.advance(timedelta(minutes=15))
    _sign_in(world, "ana", PASSWORD)
    outcomes = _outcomes(world)
    assert outcomes.count("wrong_password") == MAX_FAILED_ATTEMPTS - 1
    assert outcomes.count("locked_now") == 1
    assert "throttled" in outcomes
    assert outcomes[-1] == "success"


def test_first_failures_are_free_then_each_wait_doubles(world: World) -> None:
    _refused(world, "ana", "wrong one")
    _refused(world, "ana", "wrong two")  # no wait after the first failures
    error = _refused(world, "ana", "wrong three")
    assert error.message == "Wrong user name or password."
    error = _refused(world, "ana", PASSWORD)
    assert error.message.startswith("Several failed sign-ins: wait 2 seconds")
    world.clock.advance(timedelta(seconds=2))
    _refused(world, "ana", "wrong four")
    assert "wait 4 seconds" in _refused(world, "ana", PASSWORD).message


def test_a_locked_account_never_locks_anyone_else(world: World) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS):
        _refused(world, "ana", "brute force guess")
        world.clock.advance(timedelta(seconds=61))
    assert "locked" in _refused(world, "ana", PASSWORD).message
    for other in ("lina", "drew", "root"):
        _sign_in(world, other, PASSWORD)


def test_admin_unlocks_at_once(world: World) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS):
        _refused(world, "ana", "brute force guess")
        world.clock.advance(timedelta(seconds=61))
    with world.uow() as uow:
        row = unlock_user(uow, world.clock, world.actor("root"), world.ids["ana"])
        uow.commit()
    assert not row.locked
    _sign_in(world, "ana", PASSWORD)


def test_unknown_user_is_audited_without_the_typed_name(world: World) -> None:
    error = _refused(world, "nobody-here", "a password typed in the wrong box")
    assert error.message == "Wrong user name or password."
    entry = world.audit()[-1]
    assert (entry.outcome, entry.user_id) == ("unknown_user", None)
    assert "nobody" not in entry.detail
    assert "wrong box" not in entry.detail


@pytest.mark.parametrize(
    ("change", "message", "outcome"),
    [
        ("disable", "This account is disabled.", "disabled"),
        ("expire", "This account expired on 2026-03-01.", "expired"),
        ("remove", "This account was removed.", "removed"),
    ],
)
def test_account_state_is_told_only_after_the_right_password(
    world: World, change: str, message: str, outcome: str
) -> None:
    admin = world.actor("root")
    with world.uow() as uow:
        user_id = world.ids["lina"]
        if change == "disable":
            set_active(uow, world.clock, admin, user_id, False)
        elif change == "expire":
            update_details(
                uow,
                world.clock,
                admin,
                user_id,
                display_name="Lina Park",
                initials="LP",
                expires_at=world.clock.now() - timedelta(days=1),
            )
        else:
            remove_user(uow, world.clock, admin, user_id)
        uow.commit()
    assert _refused(world, "lina", "a wrong guess!!").message == "Wrong user name or password."
    error = _refused(world, "lina", PASSWORD)
    assert error.message == message
    assert error.hint
    assert _outcomes(world)[-2:] == ["wrong_password", outcome]


def test_badge_and_pin(world: World) -> None:
    with world.uow() as uow:
        user = authenticate_badge(uow, world.clock, BADGES["ana"] + "\r\n", PIN, station=STATION)
    assert user.username == "ana"
    with world.uow() as uow, pytest.raises(AuthenticationError, match="Wrong PIN"):
        authenticate_badge(uow, world.clock, BADGES["ana"], "111000")
    with world.uow() as uow:
        set_badge(uow, world.clock, world.actor("root"), world.ids["lina"], "BADGE-0003")
        uow.commit()
    with world.uow() as uow, pytest.raises(AuthenticationError, match="No PIN is set"):
        authenticate_badge(uow, world.clock, "BADGE-0003", PIN)
    with world.uow() as uow, pytest.raises(AuthenticationError, match="not registered"):
        authenticate_badge(uow, world.clock, "BADGE-NONE", PIN)
    outcomes = [e.outcome for e in world.audit() if e.action is AuditAction.SIGN_IN]
    assert outcomes == ["success", "wrong_pin", "no_pin", "unknown_badge"]


def test_badge_of_a_removed_user_is_not_recognised(world: World) -> None:
    with world.uow() as uow:
        remove_user(uow, world.clock, world.actor("root"), world.ids["cole"])
        uow.commit()
    with world.uow() as uow, pytest.raises(AuthenticationError) as info:
        authenticate_badge(uow, world.clock, BADGES["cole"], PIN, station=STATION)
    assert info.value.message == "This badge is not registered to any user."
    assert "password" in info.value.hint
    assert world.audit()[-1].outcome == "unknown_badge"


def test_pin_failures_count_towards_the_same_lockout(world: World) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS):
        with world.uow() as uow, pytest.raises(AuthenticationError):
            authenticate_badge(uow, world.clock, BADGES["ana"], "902118")
        world.clock.advance(timedelta(seconds=61))
    with world.uow() as uow, pytest.raises(AuthenticationError, match="locked"):
        authenticate_badge(uow, world.clock, BADGES["ana"], PIN)
    assert "locked" in _refused(world, "ana", PASSWORD).message
    locks = [e for e in world.audit() if e.outcome == "locked_now"]
    assert len(locks) == 1
    assert locks[0].flagged


def test_change_own_password_checks_the_current_and_the_policy(world: World) -> None:
    actor = world.actor("drew")
    with world.uow() as uow, pytest.raises(AuthenticationError, match="current password"):
        change_own_password(uow, world.clock, actor, "not it at all", "a brand new passphrase")
    with world.uow() as uow, pytest.raises(ValidationError, match="at least 15"):
        change_own_password(uow, world.clock, actor, PASSWORD, "short one")
    with world.uow() as uow:
        change_own_password(uow, world.clock, actor, PASSWORD, "lanterns over quiet harbours")
        uow.commit()
    _sign_in(world, "drew", "lanterns over quiet harbours")


def test_break_glass_widens_the_session_and_flags_everything(world: World) -> None:
    actor = world.actor("ana")
    with pytest.raises(PermissionDenied):
        authorize(actor, Permission.VIEW_RESULTS)
    with world.uow() as uow, pytest.raises(ValidationError, match="Say why"):
        start_emergency_access(uow, world.clock, actor, reason="urgent", password=PASSWORD)
    with world.uow() as uow, pytest.raises(AuthenticationError):
        start_emergency_access(
            uow, world.clock, actor, reason="code blue in room 4, need labs", password="nope"
        )
    with world.uow() as uow:
        emergency = start_emergency_access(
            uow, world.clock, actor, reason="code blue in room 4, need labs", password=PASSWORD
        )
    authorize(emergency, Permission.VIEW_RESULTS)
    with pytest.raises(PermissionDenied):
        authorize(emergency, Permission.ACKNOWLEDGE_RESULTS)
    with world.uow() as uow:
        ended = end_emergency_access(uow, world.clock, emergency)
        uow.commit()
    assert not ended.emergency
    glass = [e for e in world.audit() if e.action is AuditAction.BREAK_GLASS]
    assert [e.outcome for e in glass] == ["wrong_password", "success", "ended"]
    assert all(e.flagged for e in glass)
    assert "code blue" in glass[1].detail


def test_couriers_cannot_break_glass(world: World) -> None:
    with world.uow() as uow, pytest.raises(PermissionDenied):
        start_emergency_access(
            uow, world.clock, world.actor("cole"), reason="I want to see it", password=PASSWORD
        )
