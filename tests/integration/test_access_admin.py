"""Managing users, sites and stations on both backends: clear refusals, everything audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from access_world import PASSWORD, World, build_world, use_cheap_hashing
from sqlalchemy import Engine

from labdesk.access.auth import authenticate
from labdesk.access.users import (
    NewUser,
    add_user,
    list_users,
    remove_user,
    reset_password,
    set_active,
    set_badge,
    set_pin,
    set_role,
    update_details,
)
from labdesk.access.workstations import list_stations, save_site, save_station
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import AuthenticationError, NotFound, PermissionDenied, ValidationError
from labdesk.domain.people import Role


@pytest.fixture
def world(engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> World:
    use_cheap_hashing(monkeypatch)
    return build_world(engine, clock)


def test_add_user_must_choose_own_password(world: World) -> None:
    admin = world.actor("root")
    new = NewUser(
        username="Nia.Tran",
        display_name="Nia Tran",
        role=Role.MEDICAL_ASSISTANT,
        password="temporary marmalade sandwich",
        badge_id="BADGE-0099",
        pin="275918",
    )
    with world.uow() as uow:
        row = add_user(uow, world.clock, admin, new)
        uow.commit()
    assert (row.username, row.initials, row.has_badge, row.has_pin) == (
        "nia.tran",
        "NT",
        True,
        True,
    )
    assert row.must_change_password
    with world.uow() as uow:
        user = authenticate(uow, world.clock, "nia.tran", "temporary marmalade sandwich")
    assert user.must_change_password
    entry = next(e for e in world.audit() if e.action is AuditAction.CREATE)
    assert (entry.entity, entry.entity_id, entry.user_id) == ("user", str(row.id), admin.id)
    assert "marmalade" not in entry.detail


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "ana", "is taken"),
        ("username", "bad name!", "not a valid user name"),
        ("password", "tooshort", "at least 15"),
        ("password", "password1234567890", "common word or password with only digits"),
        ("password", "Correct Horse Battery Staple", "commonly used or breached"),
        ("password", "1234567890123456", "keyboard or alphabet sequence"),
        ("password", "nia.tran2026!!!!!", "user name"),
        ("badge_id", "BADGE-0001", "registered to another user"),
        ("pin", "123456", "too easy"),
        ("pin", "12ab56", "digits only"),
    ],
)
def test_add_user_refuses_with_the_reason(
    world: World, field: str, value: str, message: str
) -> None:
    values = {
        "username": "nia.tran",
        "display_name": "Nia Tran",
        "role": Role.COURIER,
        "password": "temporary marmalade sandwich",
    } | {field: value}
    with world.uow() as uow, pytest.raises(ValidationError, match=message) as info:
        add_user(uow, world.clock, world.actor("root"), NewUser(**values))  # type: ignore[arg-type]
    assert info.value.hint


@pytest.mark.parametrize("action", ["disable", "remove", "demote", "expire"])
def test_the_last_active_admin_cannot_be_taken_away(world: World, action: str) -> None:
    admin = world.actor("root")
    if action == "remove":
        # A disabled administrator still at the keyboard cannot remove the last active one.
        with world.uow() as uow:
            drew = uow.people.user(world.ids["drew"])
            assert drew is not None
            drew.role, drew.active = Role.ADMIN, False
            uow.commit()
    other = world.actor("drew")
    with world.uow() as uow, pytest.raises(ValidationError, match="last active administrator"):  # noqa: PT012 - one call per branch
        user_id = admin.id
        if action == "disable":
            set_active(uow, world.clock, admin, user_id, False)
        elif action == "remove":
            remove_user(uow, world.clock, other, user_id)
        elif action == "demote":
            set_role(uow, world.clock, admin, user_id, Role.CLINICIAN)
        else:
            update_details(
                uow,
                world.clock,
                admin,
                user_id,
                display_name="Rosa Admin",
                initials="RA",
                expires_at=world.clock.now() - timedelta(minutes=1),
            )
    with world.uow() as uow:
        assert [r.username for r in list_users(uow, world.clock, admin) if r.role is Role.ADMIN]


def test_with_a_second_admin_the_first_may_go(world: World) -> None:
    admin = world.actor("root")
    with world.uow() as uow:
        row = set_role(uow, world.clock, admin, world.ids["drew"], Role.ADMIN)
        uow.commit()
    assert row.role is Role.ADMIN
    drew = world.actor("drew")
    with world.uow() as uow:
        remove_user(uow, world.clock, drew, admin.id)
        uow.commit()
    with world.uow() as uow:
        rows = list_users(uow, world.clock, drew)
        everyone = list_users(uow, world.clock, drew, include_removed=True)
    assert "root" not in {r.username for r in rows}
    assert [r.removed for r in everyone if r.username == "root"] == [True]
    details = [e.detail for e in world.audit() if e.entity == "user" and e.user_id is not None]
    assert "role clinician -> admin" in details
    assert "removed; badge and PIN freed" in details


def test_removing_oneself_is_refused(world: World) -> None:
    admin = world.actor("root")
    with world.uow() as uow:
        set_role(uow, world.clock, admin, world.ids["drew"], Role.ADMIN)
        uow.commit()
    with world.uow() as uow, pytest.raises(ValidationError, match="your own account"):
        remove_user(uow, world.clock, admin, admin.id)


def test_a_removed_account_cannot_be_re_enabled(world: World) -> None:
    admin = world.actor("root")
    with world.uow() as uow:
        remove_user(uow, world.clock, admin, world.ids["lina"])
        uow.commit()
    with world.uow() as uow, pytest.raises(ValidationError, match="cannot be re-enabled"):
        set_active(uow, world.clock, admin, world.ids["lina"], True)


def test_reset_password_forces_a_change_and_unlocks(world: World) -> None:
    admin = world.actor("root")
    for _ in range(12):
        with world.uow() as uow, pytest.raises(AuthenticationError):
            authenticate(uow, world.clock, "drew", "a wrong guess here")
        world.clock.advance(timedelta(seconds=61))
    with world.uow() as uow:
        row = reset_password(uow, world.clock, admin, world.ids["drew"], "pelican harbour lantern")
        uow.commit()
    assert (row.locked, row.must_change_password) == (False, True)
    with world.uow() as uow:
        assert authenticate(
            uow, world.clock, "drew", "pelican harbour lantern"
        ).must_change_password
    with world.uow() as uow, pytest.raises(AuthenticationError):
        authenticate(uow, world.clock, "drew", PASSWORD)


def test_badge_and_pin_management(world: World) -> None:
    admin = world.actor("root")
    with world.uow() as uow, pytest.raises(ValidationError, match="another user"):
        set_badge(uow, world.clock, admin, world.ids["drew"], "BADGE-0001")
    with world.uow() as uow:
        assert set_badge(uow, world.clock, admin, world.ids["ana"], "").has_badge is False
        assert set_badge(uow, world.clock, admin, world.ids["drew"], "BADGE-0001").has_badge
        assert set_pin(uow, world.clock, admin, world.ids["drew"], "640271").has_pin
        assert not set_pin(uow, world.clock, admin, world.ids["drew"], "").has_pin
        uow.commit()


def test_unknown_user_id_is_not_found(world: World) -> None:
    with world.uow() as uow, pytest.raises(NotFound):
        set_active(uow, world.clock, world.actor("root"), 9999, False)


def test_non_admins_manage_nothing(world: World) -> None:
    for username in ("ana", "cole", "lina", "drew"):
        with world.uow() as uow, pytest.raises(PermissionDenied):
            list_users(uow, world.clock, world.actor(username))


def test_sites_and_stations(world: World) -> None:
    admin = world.actor("root")
    with world.uow() as uow:
        save_site(
            uow, world.clock, admin, code="north", name="North clinic", timezone="America/Chicago"
        )
        save_station(uow, world.clock, admin, code="draw-9", name="Chair 9", site_code="NORTH")
        save_station(uow, world.clock, admin, code="DRAW-9", name="Chair nine", site_code="north")
        uow.commit()
    with world.uow() as uow:
        [station] = list_stations(uow, world.clock, admin)
    assert (station.code, station.name, station.site_code) == ("DRAW-9", "Chair nine", "NORTH")
    with world.uow() as uow, pytest.raises(ValidationError, match="time zone"):
        save_site(uow, world.clock, admin, code="X", name="X", timezone="Mars/Olympus")
    with world.uow() as uow, pytest.raises(NotFound, match="Site"):
        save_station(uow, world.clock, admin, code="D1", name="Chair", site_code="NOPE")
    with world.uow() as uow, pytest.raises(ValidationError, match="not a valid station code"):
        save_station(uow, world.clock, admin, code="a b", name="Chair", site_code="NORTH")
    actions = [(e.action, e.entity) for e in world.audit()]
    assert actions == [
        (AuditAction.CREATE, "site"),
        (AuditAction.CREATE, "station"),
        (AuditAction.UPDATE, "station"),
    ]
