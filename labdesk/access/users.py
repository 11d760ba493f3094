"""Managing users (administrators only): create, change role, disable, remove, reset, unlock.

Every change is audited with what changed (a role change is a privilege change, ONC
170.315(d)(2)); passwords and PINs are never recorded. Users are never deleted, since custody
events and audit entries name them: "removing" one disables the account for good, frees its
badge and PIN, and hides it from the list. The clinic can never lose its last active
administrator: disabling, removing, expiring or demoting them is refused with a clear
message. All functions: caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from labdesk.access.auth import USER, create_user
from labdesk.access.credentials import check_password_policy, hash_secret
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.password_policy import check_pin
from labdesk.domain.people import Role, User
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork

ADMIN_LOCK = "user-admin"
"""Counter row locked by every change that could leave the clinic without an administrator."""


@dataclass(frozen=True)
class UserRow:
    """A user as the admin list shows it (never a hash)."""

    id: int
    username: str
    display_name: str
    initials: str
    role: Role
    active: bool
    locked: bool
    failed_attempts: int
    has_badge: bool
    has_pin: bool
    expires_at: datetime | None
    removed: bool
    must_change_password: bool
    last_sign_in_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class NewUser:
    """What an administrator enters to create a user (the secrets never shown in a repr)."""

    username: str
    display_name: str
    role: Role
    password: str = field(repr=False)
    initials: str = ""
    badge_id: str = ""
    pin: str = field(default="", repr=False)
    expires_at: datetime | None = None


def _row(user: User, now: datetime) -> UserRow:
    assert user.id is not None
    return UserRow(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        initials=user.initials,
        role=user.role,
        active=user.active,
        locked=(user.locked_until is not None and user.locked_until > now)
        or (user.throttled_until is not None and user.throttled_until > now),
        failed_attempts=user.failed_attempts,
        has_badge=bool(user.badge_id),
        has_pin=bool(user.pin_hash),
        expires_at=user.expires_at,
        removed=user.removed_at is not None,
        must_change_password=user.must_change_password,
        last_sign_in_at=user.last_sign_in_at,
        created_at=user.created_at,
    )


def list_users(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, *, include_removed: bool = False
) -> list[UserRow]:
    """Every user by user name (removed ones only when asked).

    ``actor=None`` everywhere in this module is the command line (``labdesk users``), run by
    someone with the operating-system rights to the database: no permission check, and the
    audit entries name no user.
    """
    _check(actor)
    now = clock.now()
    return [_row(u, now) for u in uow.people.users() if include_removed or u.removed_at is None]


def add_user(uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, new: NewUser) -> UserRow:
    """Create a user who must choose their own password at the first sign-in.

    Raises:
        ValidationError: bad or taken user name, weak password or PIN, taken badge.
    """
    _check(actor)
    user_id = create_user(
        uow,
        clock,
        username=new.username,
        display_name=new.display_name,
        role=new.role,
        password=new.password,
        initials=new.initials.strip().upper()[:8],
        badge_id=new.badge_id or None,
        pin=new.pin or None,
        expires_at=new.expires_at,
        must_change_password=True,
    )
    _audit(uow, clock, actor, AuditAction.CREATE, user_id, f"role={new.role.value}")
    return _row(_user(uow, user_id), clock.now())


def set_role(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, user_id: int, role: Role
) -> UserRow:
    """Change a user's role (a privilege change, audited with before and after).

    Raises:
        ValidationError: when it would demote the last active administrator.
    """
    _check(actor)
    user = _user(uow, user_id, lock=True)
    if user.role is not role:
        if role is not Role.ADMIN:
            _keep_an_admin(uow, clock, user, "change the role of")
        before = user.role
        user.role = role
        _audit(uow, clock, actor, AuditAction.UPDATE, user_id, f"role {before} -> {role}")
    return _row(user, clock.now())


def update_details(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    user_id: int,
    *,
    display_name: str,
    initials: str,
    expires_at: datetime | None,
) -> UserRow:
    """Change a user's name, initials and account expiry.

    Raises:
        ValidationError: empty name, or an expiry that would leave no administrator.
    """
    _check(actor)
    user = _user(uow, user_id, lock=True)
    if not display_name.strip():
        raise ValidationError("A display name is required.", hint="Enter the person's name.")
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        _keep_an_admin(uow, clock, user, "expire")
    changed = []
    if user.display_name != display_name.strip():
        changed.append("display name")
        user.display_name = display_name.strip()
    if initials.strip() and user.initials != initials.strip().upper()[:8]:
        changed.append("initials")
        user.initials = initials.strip().upper()[:8]
    if user.expires_at != expires_at:
        changed.append(f"expiry {expires_at:%Y-%m-%d}" if expires_at else "no expiry")
        user.expires_at = expires_at
    if changed:
        _audit(uow, clock, actor, AuditAction.UPDATE, user_id, ", ".join(changed))
    return _row(user, now)


def set_active(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, user_id: int, active: bool
) -> UserRow:
    """Disable or re-enable an account.

    Raises:
        ValidationError: disabling the last active administrator, or a removed account.
    """
    _check(actor)
    user = _user(uow, user_id, lock=True)
    if user.removed_at is not None:
        raise ValidationError(
            f"{user.username} was removed and cannot be re-enabled.",
            hint="Create a new account instead.",
        )
    if user.active != active:
        if not active:
            _keep_an_admin(uow, clock, user, "disable")
        user.active = active
        _audit(uow, clock, actor, AuditAction.UPDATE, user_id, "enabled" if active else "disabled")
    return _row(user, clock.now())


def remove_user(uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, user_id: int) -> UserRow:
    """Remove an account for good: disabled, badge and PIN freed, hidden from the list.

    Raises:
        ValidationError: removing oneself or the last active administrator.
    """
    _check(actor)
    user = _user(uow, user_id, lock=True)
    if actor is not None and user.id == actor.id:
        raise ValidationError(
            "You cannot remove your own account.", hint="Ask another administrator."
        )
    if user.removed_at is None:
        _keep_an_admin(uow, clock, user, "remove")
        user.removed_at = clock.now()
        user.active = False
        user.badge_id = None
        user.pin_hash = None
        _audit(uow, clock, actor, AuditAction.DELETE, user_id, "removed; badge and PIN freed")
    return _row(user, clock.now())


def reset_password(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, user_id: int, password: str
) -> UserRow:
    """Set a temporary password the user must change at the next sign-in; unlocks too.

    Raises:
        ValidationError: the password breaks the policy.
    """
    _check(actor)
    user = _user(uow, user_id)
    check_password_policy(password, user.username, user.display_name)
    user.password_hash = hash_secret(password)
    user.must_change_password = actor is None or user.id != actor.id
    _clear_failures(user)
    _audit(uow, clock, actor, AuditAction.UPDATE, user_id, "password reset by administrator")
    return _row(user, clock.now())


def set_badge(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, user_id: int, badge_id: str
) -> UserRow:
    """Register a badge for a user ("" takes it away).

    Raises:
        ValidationError: the badge belongs to someone else.
    """
    _check(actor)
    user = _user(uow, user_id)
    badge = badge_id.strip()[:64] or None
    owner = uow.access.badge_owner(badge) if badge else None
    if owner is not None and owner != user_id:
        raise ValidationError(
            "That badge is registered to another user.",
            hint="Take it away from that user first, or scan another badge.",
        )
    if user.badge_id != badge:
        user.badge_id = badge
        _audit(
            uow,
            clock,
            actor,
            AuditAction.UPDATE,
            user_id,
            "badge set" if badge else "badge cleared",
        )
    return _row(user, clock.now())


def set_pin(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, user_id: int, pin: str
) -> UserRow:
    """Set the PIN used after a badge scan ("" clears it).

    Raises:
        ValidationError: a PIN that is not 6-12 digits or is trivially guessable.
    """
    _check(actor)
    user = _user(uow, user_id)
    if pin:
        check_pin(pin)
    user.pin_hash = hash_secret(pin) if pin else None
    _audit(uow, clock, actor, AuditAction.UPDATE, user_id, "PIN set" if pin else "PIN cleared")
    return _row(user, clock.now())


def unlock_user(uow: UnitOfWork, clock: Clock, actor: SignedInUser | None, user_id: int) -> UserRow:
    """Lift a lock or wait after failed sign-ins at once."""
    _check(actor)
    user = _user(uow, user_id)
    _clear_failures(user)
    _audit(uow, clock, actor, AuditAction.UPDATE, user_id, "unlocked after failed sign-ins")
    return _row(user, clock.now())


def user_id_by_name(uow: UnitOfWork, username: str) -> int:
    """The id of the user named ``username`` (as typed on the command line).

    Raises:
        NotFound: nobody has that user name.
    """
    user = uow.people.user_by_username(username.strip().lower()[:64])
    if user is None or user.id is None:
        raise NotFound(f"No user is named '{username[:64]}'.", hint="See 'labdesk users list'.")
    return user.id


def _check(actor: SignedInUser | None) -> None:
    """Signed-in users need the permission; the command line (None) is the OS operator."""
    if actor is not None:
        authorize(actor, Permission.MANAGE_USERS)


def _clear_failures(user: User) -> None:
    user.failed_attempts = 0
    user.locked_until = None
    user.throttled_until = None


def _user(uow: UnitOfWork, user_id: int, *, lock: bool = False) -> User:
    if lock:
        uow.counters.next_value(ADMIN_LOCK)  # serialise changes that may drop an admin
    user = uow.people.user(user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.", hint="Refresh the list.")
    return user


def _keep_an_admin(uow: UnitOfWork, clock: Clock, user: User, verb: str) -> None:
    """Refuse a change that would leave no active administrator."""
    if user.role is not Role.ADMIN:
        return
    active = uow.access.active_admin_ids(clock.now())
    if user.id in active and len(active) == 1:
        raise ValidationError(
            f"You cannot {verb} {user.username}: they are the last active administrator, and "
            "the clinic would have nobody left to manage users.",
            hint="Make another user an administrator first.",
        )


def _audit(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    action: AuditAction,
    user_id: int,
    detail: str,
) -> None:
    record_audit(
        uow,
        clock,
        action=action,
        entity=USER,
        entity_id=user_id,
        detail=detail if actor is not None else f"{detail} (command line)",
        actor=actor,
    )
