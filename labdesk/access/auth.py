"""Users and sign-in: password or badge + PIN, throttled, locked per account, every try audited.

Every attempt, successful or not, leaves an audit entry (``sign_in`` or ``unlock``) whose
outcome says what happened (:class:`~labdesk.domain.signin_policy.SignInOutcome`); the
password, the PIN and a user name that does not exist are never recorded. Messages do not
reveal whether a user name exists or which part was wrong; the state of an account
(disabled, expired, removed) is only told after the right password, so nobody learns it by
guessing. A lock or a wait applies to one account only (see
:mod:`labdesk.domain.signin_policy`): the rest of the clinic signs in as usual.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from labdesk.access.credentials import (
    check_password_policy,
    dummy_hash,
    hash_secret,
    verify_secret,
)
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import AuthenticationError, ValidationError
from labdesk.domain.password_policy import check_pin
from labdesk.domain.people import Role, User
from labdesk.domain.signin_policy import (
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
    SignInOutcome,
    after_failure,
    wait_text,
)
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork

logger = logging.getLogger(__name__)

__all__ = [
    "LOCKOUT",
    "MAX_FAILED_ATTEMPTS",
    "Confirmation",
    "authenticate",
    "authenticate_badge",
    "change_own_password",
    "check_password_policy",
    "create_user",
    "hash_secret",
    "lock_session",
    "sign_out",
    "verify_secret",
]

USER = "user"
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_WRONG = "Wrong user name or password."
_WRONG_HINT = "Try again; after several failures each try must wait a little longer."


@dataclass(frozen=True)
class Confirmation:
    """A secret re-entered to confirm an action on a record, audited as that action.

    Neither a sign-in nor an unlock: the attempt's entry names the record and says in words
    what happened (``describe(outcome, factor)``, factor ``password`` or ``badge``), while
    failures still count towards the account's throttling and lockout.
    """

    entity: str
    entity_id: str
    describe: Callable[[SignInOutcome, str], str]
    action: AuditAction = AuditAction.UPDATE


def session_of(user: User, station: str = "", *, emergency: bool = False) -> SignedInUser:
    """The DTO of a signed-in ``user``."""
    assert user.id is not None
    return SignedInUser(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        initials=user.initials,
        station=station,
        emergency=emergency,
        must_change_password=user.must_change_password,
    )


def normalise_username(username: str) -> str:
    """The stored form of a user name.

    Raises:
        ValidationError: if it is empty or holds characters other than a-z, 0-9, ``.-_``.
    """
    name = username.strip().lower()
    if not USERNAME_RE.fullmatch(name):
        raise ValidationError(
            f"'{name[:64]}' is not a valid user name.",
            hint="Use 1 to 64 letters a-z, digits, dots, hyphens or underscores.",
        )
    return name


def create_user(
    uow: UnitOfWork,
    clock: Clock,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    initials: str = "",
    badge_id: str | None = None,
    pin: str | None = None,
    expires_at: datetime | None = None,
    must_change_password: bool = False,
    enforce_policy: bool = True,
) -> int:
    """Create a user and return its id (caller commits; no audit: see ``users_admin``).

    ``enforce_policy=False`` is for the demo's shared, published password only.

    Raises:
        ValidationError: for a bad or taken user name, a weak password or PIN, a taken badge.
    """
    name = normalise_username(username)
    if not display_name.strip():
        raise ValidationError("A display name is required.", hint="Enter the person's name.")
    if uow.people.user_by_username(name) is not None:
        raise ValidationError(f"The user name '{name}' is taken.", hint="Choose another one.")
    if enforce_policy:
        check_password_policy(password, name, display_name)
    badge = (badge_id or "").strip() or None
    if badge is not None and uow.access.badge_owner(badge) is not None:
        raise ValidationError(
            "That badge is registered to another user.",
            hint="Take it away from that user first, or scan another badge.",
        )
    if pin is not None:
        check_pin(pin)
    user = User(
        username=name,
        display_name=display_name.strip(),
        role=role,
        password_hash=hash_secret(password),
        created_at=clock.now(),
        initials=initials or "".join(part[0] for part in display_name.split()[:3]).upper(),
        badge_id=badge,
        pin_hash=hash_secret(pin) if pin is not None else None,
        expires_at=expires_at,
        must_change_password=must_change_password,
    )
    uow.people.add(user)
    uow.people.flush()
    assert user.id is not None
    return user.id


def authenticate(
    uow: UnitOfWork,
    clock: Clock,
    username: str,
    password: str,
    *,
    station: str = "",
    unlock: bool = False,
    confirms: Confirmation | None = None,
) -> SignedInUser:
    """Check a user name and password (commits the attempt's audit entry and counters).

    Args:
        uow: a unit of work this call commits.
        clock: time source.
        username: as typed (case and surrounding spaces ignored).
        password: as typed or pasted.
        station: the workstation, recorded in the audit entry and the session.
        unlock: the attempt unlocks a locked screen (audited as ``unlock``).
        confirms: the attempt confirms this action instead (audited as it).

    Raises:
        AuthenticationError: with a message that does not reveal which part was wrong.
    """
    action = confirms or (AuditAction.UNLOCK if unlock else AuditAction.SIGN_IN)
    user = uow.people.user_by_username(username.strip().lower()[:64])
    if user is None:
        verify_secret(dummy_hash(), password)
        _audit(uow, clock, None, action, SignInOutcome.UNKNOWN_USER, station, "password")
        uow.commit()
        raise AuthenticationError(_WRONG, hint=_WRONG_HINT)
    return _attempt(
        uow,
        clock,
        user,
        lambda u: verify_secret(u.password_hash, password),
        station=station,
        action=action,
        factor="password",
    )


def authenticate_badge(
    uow: UnitOfWork,
    clock: Clock,
    badge_id: str,
    pin: str,
    *,
    station: str = "",
    unlock: bool = False,
    confirms: Confirmation | None = None,
) -> SignedInUser:
    """Check a scanned badge and its PIN (commits like :func:`authenticate`).

    Raises:
        AuthenticationError: unknown badge (also the badge of a removed user), no PIN set,
            wrong PIN, or the account's state.
    """
    action = confirms or (AuditAction.UNLOCK if unlock else AuditAction.SIGN_IN)
    badge = badge_id.strip()
    user = uow.people.user_by_badge(badge) if badge else None
    if user is None:
        verify_secret(dummy_hash(), pin)
        _audit(uow, clock, None, action, SignInOutcome.UNKNOWN_BADGE, station, "badge")
        uow.commit()
        raise AuthenticationError(
            "This badge is not registered to any user.",
            hint="Sign in with your user name and password, or ask an administrator to "
            "register the badge.",
        )
    if not user.pin_hash:
        _audit(uow, clock, user, action, SignInOutcome.NO_PIN, station, "badge")
        uow.commit()
        raise AuthenticationError(
            "No PIN is set for this badge.",
            hint="Sign in with your user name and password, or ask an administrator to set a PIN.",
        )
    pin_hash = user.pin_hash
    return _attempt(
        uow,
        clock,
        user,
        lambda _u: verify_secret(pin_hash, pin),
        station=station,
        action=action,
        factor="badge",
    )


def _attempt(
    uow: UnitOfWork,
    clock: Clock,
    user: User,
    secret_ok: Callable[[User], bool],
    *,
    station: str,
    action: AuditAction | Confirmation,
    factor: str,
) -> SignedInUser:
    # Lock the account's row for the whole attempt: the wait, the lock and the failure
    # counter are read, the secret checked and the counter written under one row lock, so
    # parallel guesses from several processes queue up and each sees the last one's count
    # (read-then-write without it lost updates: 8 processes, 56 guesses, never locked).
    assert user.id is not None
    locked = uow.access.user_for_update(user.id)
    if locked is None:  # removed from under us: treat as unknown, never check the secret
        _audit(uow, clock, None, action, SignInOutcome.UNKNOWN_USER, station, factor)
        uow.commit()
        raise AuthenticationError(_WRONG, hint=_WRONG_HINT)
    user = locked
    now = clock.now()
    refusal = _refused_before_check(user, now)
    if refusal is not None:
        outcome, error = refusal
        _audit(uow, clock, user, action, outcome, station, factor)
        uow.commit()
        raise error
    if not secret_ok(user):
        raise _failed(uow, clock, user, action, station, factor)
    state = _account_state(user, now)
    if state is not None:
        outcome, error = state
        _audit(uow, clock, user, action, outcome, station, factor)
        uow.commit()
        raise error
    user.failed_attempts = 0
    user.locked_until = None
    user.throttled_until = None
    user.last_sign_in_at = now
    _audit(uow, clock, user, action, SignInOutcome.SUCCESS, station, factor)
    uow.commit()
    what = action.action if isinstance(action, Confirmation) else action
    logger.info("user id %s: %s at %s", user.id, what.value, station or "-")
    return session_of(user, station)


def _refused_before_check(
    user: User, now: datetime
) -> tuple[SignInOutcome, AuthenticationError] | None:
    """A lock or a wait: refuse without looking at the secret (no guess gets checked)."""
    if user.locked_until is not None and user.locked_until > now:
        return SignInOutcome.LOCKED, AuthenticationError(
            f"Too many failed sign-ins: this account is locked for "
            f"{wait_text(user.locked_until, now)}.",
            hint="Wait, or ask an administrator to unlock it. Other users can sign in as usual.",
        )
    if user.throttled_until is not None and user.throttled_until > now:
        return SignInOutcome.THROTTLED, AuthenticationError(
            f"Several failed sign-ins: wait {wait_text(user.throttled_until, now)} before "
            "trying again.",
            hint="Check the user name and that Caps Lock is off.",
        )
    return None


def _failed(
    uow: UnitOfWork,
    clock: Clock,
    user: User,
    action: AuditAction | Confirmation,
    station: str,
    factor: str,
) -> AuthenticationError:
    verdict = after_failure(user.failed_attempts, clock.now())
    user.failed_attempts = verdict.failures
    user.throttled_until = verdict.throttled_until
    if verdict.locked_until is not None:
        user.locked_until = verdict.locked_until
    wrong = SignInOutcome.WRONG_PIN if factor == "badge" else SignInOutcome.WRONG_PASSWORD
    outcome = SignInOutcome.LOCKED_NOW if verdict.locked_now else wrong
    _audit(uow, clock, user, action, outcome, station, factor, flagged=verdict.locked_now)
    uow.commit()
    message = "Wrong PIN." if factor == "badge" else _WRONG
    if verdict.locked_now:
        return AuthenticationError(
            f"{message} After {MAX_FAILED_ATTEMPTS} failures in a row this account is locked "
            f"for {int(LOCKOUT.total_seconds() // 60)} minutes.",
            hint="Wait, or ask an administrator to unlock it. Other users can sign in as usual.",
        )
    return AuthenticationError(message, hint=_WRONG_HINT)


def _account_state(user: User, now: datetime) -> tuple[SignInOutcome, AuthenticationError] | None:
    """Told only after the right secret: disabled, removed or expired accounts."""
    hint = "Ask an administrator."
    if user.removed_at is not None:
        return SignInOutcome.REMOVED, AuthenticationError("This account was removed.", hint=hint)
    if not user.active:
        return SignInOutcome.DISABLED, AuthenticationError(
            "This account is disabled.", hint="Ask an administrator to re-enable it."
        )
    if user.expires_at is not None and user.expires_at <= now:
        return SignInOutcome.EXPIRED, AuthenticationError(
            f"This account expired on {user.expires_at:%Y-%m-%d}.",
            hint="Ask an administrator to extend it.",
        )
    return None


def _audit(
    uow: UnitOfWork,
    clock: Clock,
    user: User | None,
    action: AuditAction | Confirmation,
    outcome: SignInOutcome,
    station: str,
    factor: str,
    *,
    flagged: bool = False,
) -> None:
    user_id = user.id if user is not None and user.id is not None else None
    entity, entity_id, detail = USER, "" if user_id is None else str(user_id), f"by {factor}"
    if isinstance(action, Confirmation):
        entity, entity_id = action.entity, action.entity_id
        detail, action = action.describe(outcome, factor), action.action
    record_audit(
        uow,
        clock,
        action=action,
        entity=entity,
        entity_id=entity_id,
        user_id=user_id,
        station=station,
        detail=detail,
        outcome=outcome.value,
        flagged=flagged,
    )


def change_own_password(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, current: str, new: str
) -> SignedInUser:
    """Let the signed-in user choose a new password (caller commits).

    Raises:
        AuthenticationError: if ``current`` is wrong.
        ValidationError: if ``new`` breaks the policy or equals the current one.
    """
    user = uow.people.user(actor.id)
    if user is None or not verify_secret(user.password_hash, current):
        raise AuthenticationError(
            "The current password is wrong.", hint="Type the password you signed in with."
        )
    if verify_secret(user.password_hash, new):
        raise ValidationError(
            "The new password is the same as the current one.", hint="Choose a different one."
        )
    check_password_policy(new, user.username, user.display_name)
    user.password_hash = hash_secret(new)
    user.must_change_password = False
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity=USER,
        entity_id=actor.id,
        detail="changed own password",
        actor=actor,
    )
    return session_of(user, actor.station, emergency=actor.emergency)


def sign_out(uow: UnitOfWork, clock: Clock, actor: SignedInUser, *, reason: str = "") -> None:
    """Record the end of a session (caller commits)."""
    record_audit(
        uow,
        clock,
        action=AuditAction.SIGN_OUT,
        entity=USER,
        entity_id=actor.id,
        detail=reason,
        actor=actor,
    )


def lock_session(uow: UnitOfWork, clock: Clock, actor: SignedInUser, *, reason: str) -> None:
    """Record that the station locked the session (inactivity or by hand; caller commits)."""
    record_audit(
        uow,
        clock,
        action=AuditAction.LOCK,
        entity=USER,
        entity_id=actor.id,
        detail=reason,
        actor=actor,
    )
