"""Re-entering a PIN or password to sign off a hand-over (the courier leaving a site).

Built on the sign-in service's public checks, so a wrong entry counts towards the same
throttling and lockout as a failed sign-in; each attempt is audited as the action it
confirms (entity and record of a :class:`~labdesk.access.auth.Confirmation`, e.g. the
manifest a courier finishes), never as a sign-in or a screen unlock.
"""

from __future__ import annotations

from labdesk.access.auth import Confirmation, authenticate, authenticate_badge
from labdesk.access.credentials import verify_secret
from labdesk.domain.clock import Clock
from labdesk.domain.errors import AuthenticationError
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork


def reauthenticate(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, secret: str, *, confirms: Confirmation
) -> None:
    """Confirm the signed-in user is at the keyboard: their badge PIN, or their password.

    Commits the attempt (its audit entry, as ``confirms`` describes it, and the failure
    counters).

    Raises:
        AuthenticationError: wrong secret, or a locked, throttled or disabled account.
    """
    user = uow.people.user(actor.id)
    if user is None:
        raise AuthenticationError(
            "Your account no longer exists.", hint="Sign out and ask an administrator."
        )
    station = actor.station
    if user.badge_id and user.pin_hash and verify_secret(user.pin_hash, secret):
        authenticate_badge(uow, clock, user.badge_id, secret, station=station, confirms=confirms)
        return
    try:
        authenticate(uow, clock, user.username, secret, station=station, confirms=confirms)
    except AuthenticationError as exc:
        message = exc.message.replace("Wrong user name or password.", "Wrong PIN or password.")
        raise AuthenticationError(message, hint=exc.hint) from exc
