"""Throttling and lockout of failed sign-ins, per account and time-limited.

Each account counts its consecutive failures (password or PIN). After ``FREE_FAILURES`` the
next attempt must wait, doubling each time up to ``MAX_DELAY`` (progressive delay); after
``MAX_FAILED_ATTEMPTS`` the account locks for ``LOCKOUT``. A wait or a lock is a
"not before" time stored on the account, checked before any password is verified, so
nobody sleeps on a thread and an attacker gains nothing by hammering. It is per account:
a brute-force run against one user never locks the rest of the clinic out, and an
administrator can unlock an account at once. SP 800-63B allows at most 100 consecutive
failures; ASVS 2.2.1 at most 100 per hour: ten per quarter hour stays far below both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

FREE_FAILURES = 3
MAX_FAILED_ATTEMPTS = 10
FIRST_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(seconds=60)
LOCKOUT = timedelta(minutes=15)


class SignInOutcome(StrEnum):
    """What an attempt came to: the ``outcome`` of its audit entry."""

    SUCCESS = "success"
    WRONG_PASSWORD = "wrong_password"
    WRONG_PIN = "wrong_pin"
    UNKNOWN_USER = "unknown_user"
    UNKNOWN_BADGE = "unknown_badge"
    NO_PIN = "no_pin"
    THROTTLED = "throttled"
    LOCKED = "locked"
    LOCKED_NOW = "locked_now"
    DISABLED = "disabled"
    EXPIRED = "expired"
    REMOVED = "removed"


def delay_after(failures: int) -> timedelta:
    """The wait imposed after ``failures`` consecutive failures (zero while few)."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    step: timedelta = FIRST_DELAY * int(2 ** (failures - FREE_FAILURES))
    return min(step, MAX_DELAY)


@dataclass(frozen=True)
class FailureVerdict:
    """The account's new state after one more failure."""

    failures: int
    throttled_until: datetime | None
    locked_until: datetime | None

    @property
    def locked_now(self) -> bool:
        """True when this failure locked the account."""
        return self.locked_until is not None


def after_failure(previous_failures: int, now: datetime) -> FailureVerdict:
    """Count one more failure: throttle, or lock once ``MAX_FAILED_ATTEMPTS`` is reached."""
    failures = previous_failures + 1
    if failures >= MAX_FAILED_ATTEMPTS:
        return FailureVerdict(failures=0, throttled_until=None, locked_until=now + LOCKOUT)
    delay = delay_after(failures)
    return FailureVerdict(
        failures=failures,
        throttled_until=now + delay if delay else None,
        locked_until=None,
    )


def wait_text(until: datetime, now: datetime) -> str:
    """'45 seconds' or '12 minutes' until ``until`` (rounded up, at least 1)."""
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minutes"
