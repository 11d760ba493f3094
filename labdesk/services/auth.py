"""Users and sign-in (argon2id hashes; never a plain password stored or logged)."""

from __future__ import annotations

import logging
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from labdesk.domain.clock import Clock
from labdesk.domain.errors import AuthenticationError, ValidationError
from labdesk.domain.people import Role, User
from labdesk.ports import UnitOfWork
from labdesk.services.dto import SignedInUser

logger = logging.getLogger(__name__)

_HASHER = PasswordHasher()  # argon2id with the library's current recommended cost
MIN_PASSWORD_LENGTH = 8
MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)


def hash_secret(secret: str) -> str:
    """Return an argon2id hash of ``secret``."""
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    """Check ``secret`` against an argon2id hash."""
    try:
        return _HASHER.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def check_password_policy(password: str, username: str) -> None:
    """Refuse passwords that are too short or equal to the user name.

    Raises:
        ValidationError: saying why.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password has {len(password)} characters; at least {MIN_PASSWORD_LENGTH} "
            "are needed.",
            hint="Use a longer passphrase: several words are easy to remember.",
        )
    if password.strip().lower() == username.strip().lower():
        raise ValidationError("The password must not be the user name.")


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
) -> int:
    """Create a user and return its id (caller commits).

    Raises:
        ValidationError: for a taken user name or a weak password.
    """
    name = username.strip().lower()
    if not name:
        raise ValidationError("A user name is required.")
    if uow.people.user_by_username(name) is not None:
        raise ValidationError(f"The user name '{name}' is taken.", hint="Choose another one.")
    check_password_policy(password, name)
    user = User(
        username=name,
        display_name=display_name,
        role=role,
        password_hash=hash_secret(password),
        created_at=clock.now(),
        initials=initials or "".join(part[0] for part in display_name.split()[:3]).upper(),
        badge_id=badge_id,
    )
    uow.people.add(user)
    uow.people.flush()
    assert user.id is not None
    return user.id


def authenticate(uow: UnitOfWork, clock: Clock, username: str, password: str) -> SignedInUser:
    """Check credentials, counting failures and locking the account after too many.

    Raises:
        AuthenticationError: with a message that does not reveal which part was wrong.
    """
    now = clock.now()
    user = uow.people.user_by_username(username)
    if user is None:
        # Same work as a real check so timing does not reveal which user names exist.
        verify_secret(hash_secret("timing-equaliser"), password)
        raise AuthenticationError("Wrong user name or password.", hint="Try again.")
    if not user.active:
        raise AuthenticationError(
            "This account is disabled.", hint="Ask an administrator to re-enable it."
        )
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60))
        raise AuthenticationError(
            f"Too many failed sign-ins: this account is locked for {minutes} more minute(s).",
            hint="Wait, or ask an administrator to unlock it.",
        )
    if not verify_secret(user.password_hash, password):
        user.failed_attempts += 1
        if user.failed_attempts >= MAX_FAILED_ATTEMPTS:
            user.locked_until = now + LOCKOUT
            user.failed_attempts = 0
        uow.commit()
        raise AuthenticationError("Wrong user name or password.", hint="Try again.")
    user.failed_attempts = 0
    user.locked_until = None
    uow.commit()
    assert user.id is not None
    logger.info("user id %s signed in", user.id)
    return SignedInUser(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        initials=user.initials,
    )
