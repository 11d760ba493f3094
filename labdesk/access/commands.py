"""Access commands: sign-in, sessions, user and station administration, the audit log.

Handlers adapt the use cases in this package to the bus (``labdesk.kernel.messagebus``):
the bus opens the unit of work, claims the idempotency key and commits; the use case checks
permission, does the work and writes audit. A sign-in or unlock that fails commits its own
audit entry and failure counters before raising (see :mod:`labdesk.access.auth`), so the
key lands with the record of the refusal.

Sign-in and unlock are sent without an actor (nobody is signed in yet, or the person at the
locked screen may be someone else). User administration from the command line is sent
without an actor too: the operating-system operator, audited as the command line.
Reads stay plain functions for :meth:`~labdesk.kernel.messagebus.MessageBus.query`:
``users.list_users``, ``workstations.list_stations`` / ``list_sites``,
``audit_log.search_audit_log`` and ``audit_log.verify_audit_log(..., record=False)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from labdesk.access import audit_log, users, workstations
from labdesk.access.auth import (
    authenticate,
    authenticate_badge,
    change_own_password,
    lock_session,
    sign_out,
)
from labdesk.access.emergency import end_emergency_access, start_emergency_access
from labdesk.domain.audit_chain import ChainReport
from labdesk.domain.audit_query import AuditQuery
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import Command, HandlerContext, handler
from labdesk.ports import UnitOfWork

UserRef = int | str
"""A user's id (the admin screens), or their user name as typed (the command line)."""


def _user_id(uow: UnitOfWork, user: UserRef) -> int:
    return user if isinstance(user, int) else users.user_id_by_name(uow, user)


# ---------------------------------------------------------------- signing in and sessions


@dataclass(frozen=True, kw_only=True)
class SignIn(Command[SignedInUser]):
    """Check a user name and password at a station and open the session."""

    username: str
    password: str = field(repr=False)
    station: str = ""


@handler(SignIn)
def _sign_in(command: SignIn, ctx: HandlerContext) -> SignedInUser:
    return authenticate(
        ctx.uow, ctx.clock, command.username, command.password, station=command.station
    )


@dataclass(frozen=True, kw_only=True)
class SignInWithBadge(Command[SignedInUser]):
    """Check a scanned badge and its PIN at a station and open the session."""

    badge_id: str
    pin: str = field(repr=False)
    station: str = ""


@handler(SignInWithBadge)
def _sign_in_with_badge(command: SignInWithBadge, ctx: HandlerContext) -> SignedInUser:
    return authenticate_badge(
        ctx.uow, ctx.clock, command.badge_id, command.pin, station=command.station
    )


@dataclass(frozen=True, kw_only=True)
class UnlockSession(Command[SignedInUser]):
    """Unlock a locked station with a user name and password (the same or another user)."""

    username: str
    password: str = field(repr=False)
    station: str = ""


@handler(UnlockSession)
def _unlock_session(command: UnlockSession, ctx: HandlerContext) -> SignedInUser:
    return authenticate(
        ctx.uow,
        ctx.clock,
        command.username,
        command.password,
        station=command.station,
        unlock=True,
    )


@dataclass(frozen=True, kw_only=True)
class UnlockSessionWithBadge(Command[SignedInUser]):
    """Unlock a locked station with a badge and its PIN (the same or another user)."""

    badge_id: str
    pin: str = field(repr=False)
    station: str = ""


@handler(UnlockSessionWithBadge)
def _unlock_session_with_badge(
    command: UnlockSessionWithBadge, ctx: HandlerContext
) -> SignedInUser:
    return authenticate_badge(
        ctx.uow, ctx.clock, command.badge_id, command.pin, station=command.station, unlock=True
    )


@dataclass(frozen=True, kw_only=True)
class SignOut(Command[SignedInUser]):
    """End the sender's session: audit the sign-out, and the end of any break-glass session.

    Returns the session as it ended (``emergency`` cleared).
    """

    reason: str = "signed out"


@handler(SignOut)
def _sign_out(command: SignOut, ctx: HandlerContext) -> SignedInUser:
    sign_out(ctx.uow, ctx.clock, ctx.user, reason=command.reason)
    return end_emergency_access(ctx.uow, ctx.clock, ctx.user)


@dataclass(frozen=True, kw_only=True)
class LockSession(Command[SignedInUser]):
    """Record that the station locked the sender's session; a break-glass session ends.

    Returns the session without emergency access.
    """

    reason: str


@handler(LockSession)
def _lock_session(command: LockSession, ctx: HandlerContext) -> SignedInUser:
    lock_session(ctx.uow, ctx.clock, ctx.user, reason=command.reason)
    return end_emergency_access(ctx.uow, ctx.clock, ctx.user)


@dataclass(frozen=True, kw_only=True)
class ChangeOwnPassword(Command[SignedInUser]):
    """Replace the sender's password after checking the current one."""

    current_password: str = field(repr=False)
    new_password: str = field(repr=False)


@handler(ChangeOwnPassword)
def _change_own_password(command: ChangeOwnPassword, ctx: HandlerContext) -> SignedInUser:
    return change_own_password(
        ctx.uow, ctx.clock, ctx.user, command.current_password, command.new_password
    )


@dataclass(frozen=True, kw_only=True)
class StartEmergencyAccess(Command[SignedInUser]):
    """Open a break-glass session after the sender confirms their password and says why."""

    reason: str
    password: str = field(repr=False)


@handler(StartEmergencyAccess)
def _start_emergency_access(command: StartEmergencyAccess, ctx: HandlerContext) -> SignedInUser:
    return start_emergency_access(
        ctx.uow, ctx.clock, ctx.user, reason=command.reason, password=command.password
    )


# ---------------------------------------------------------------- user administration
# ctx.actor is None for the command line (``labdesk users``): see labdesk.access.users.


@dataclass(frozen=True, kw_only=True)
class AddUser(Command[users.UserRow]):
    """Create an account whose owner chooses their own password at the first sign-in."""

    new: users.NewUser  # its password and PIN are kept out of its repr


@handler(AddUser)
def _add_user(command: AddUser, ctx: HandlerContext) -> users.UserRow:
    return users.add_user(ctx.uow, ctx.clock, ctx.actor, command.new)


@dataclass(frozen=True, kw_only=True)
class SetRole(Command[users.UserRow]):
    """Give a user another role (a privilege change)."""

    user: UserRef
    role: Role


@handler(SetRole)
def _set_role(command: SetRole, ctx: HandlerContext) -> users.UserRow:
    user_id = _user_id(ctx.uow, command.user)
    return users.set_role(ctx.uow, ctx.clock, ctx.actor, user_id, command.role)


@dataclass(frozen=True, kw_only=True)
class UpdateUserDetails(Command[users.UserRow]):
    """Change a user's name, initials and account expiry."""

    user: UserRef
    display_name: str
    initials: str = ""
    expires_at: datetime | None = None


@handler(UpdateUserDetails)
def _update_user_details(command: UpdateUserDetails, ctx: HandlerContext) -> users.UserRow:
    return users.update_details(
        ctx.uow,
        ctx.clock,
        ctx.actor,
        _user_id(ctx.uow, command.user),
        display_name=command.display_name,
        initials=command.initials,
        expires_at=command.expires_at,
    )


@dataclass(frozen=True, kw_only=True)
class SetUserActive(Command[users.UserRow]):
    """Disable an account, or enable it again."""

    user: UserRef
    active: bool


@handler(SetUserActive)
def _set_user_active(command: SetUserActive, ctx: HandlerContext) -> users.UserRow:
    user_id = _user_id(ctx.uow, command.user)
    return users.set_active(ctx.uow, ctx.clock, ctx.actor, user_id, command.active)


@dataclass(frozen=True, kw_only=True)
class RemoveUser(Command[users.UserRow]):
    """Remove an account for good (disabled, badge and PIN freed, hidden from the list)."""

    user: UserRef


@handler(RemoveUser)
def _remove_user(command: RemoveUser, ctx: HandlerContext) -> users.UserRow:
    return users.remove_user(ctx.uow, ctx.clock, ctx.actor, _user_id(ctx.uow, command.user))


@dataclass(frozen=True, kw_only=True)
class ResetPassword(Command[users.UserRow]):
    """Set a temporary password the user must change at the next sign-in; unlocks too."""

    user: UserRef
    password: str = field(repr=False)


@handler(ResetPassword)
def _reset_password(command: ResetPassword, ctx: HandlerContext) -> users.UserRow:
    user_id = _user_id(ctx.uow, command.user)
    return users.reset_password(ctx.uow, ctx.clock, ctx.actor, user_id, command.password)


@dataclass(frozen=True, kw_only=True)
class SetBadge(Command[users.UserRow]):
    """Register a badge for a user ("" takes it away)."""

    user: UserRef
    badge_id: str


@handler(SetBadge)
def _set_badge(command: SetBadge, ctx: HandlerContext) -> users.UserRow:
    user_id = _user_id(ctx.uow, command.user)
    return users.set_badge(ctx.uow, ctx.clock, ctx.actor, user_id, command.badge_id)


@dataclass(frozen=True, kw_only=True)
class SetPin(Command[users.UserRow]):
    """Set the PIN used after a badge scan ("" clears it)."""

    user: UserRef
    pin: str = field(repr=False)


@handler(SetPin)
def _set_pin(command: SetPin, ctx: HandlerContext) -> users.UserRow:
    user_id = _user_id(ctx.uow, command.user)
    return users.set_pin(ctx.uow, ctx.clock, ctx.actor, user_id, command.pin)


@dataclass(frozen=True, kw_only=True)
class UnlockUser(Command[users.UserRow]):
    """Lift a lock or wait after failed sign-ins at once."""

    user: UserRef


@handler(UnlockUser)
def _unlock_user(command: UnlockUser, ctx: HandlerContext) -> users.UserRow:
    return users.unlock_user(ctx.uow, ctx.clock, ctx.actor, _user_id(ctx.uow, command.user))


# ---------------------------------------------------------------- stations and sites


@dataclass(frozen=True, kw_only=True)
class SaveStation(Command[workstations.StationRow]):
    """Register a workstation, or rename or move the one with ``code``."""

    code: str
    name: str
    site_code: str


@handler(SaveStation)
def _save_station(command: SaveStation, ctx: HandlerContext) -> workstations.StationRow:
    return workstations.save_station(
        ctx.uow,
        ctx.clock,
        ctx.user,
        code=command.code,
        name=command.name,
        site_code=command.site_code,
    )


@dataclass(frozen=True, kw_only=True)
class SaveSite(Command[workstations.SiteRow]):
    """Create a site, or update the one with ``code``."""

    code: str
    name: str
    timezone: str
    is_lab: bool = False


@handler(SaveSite)
def _save_site(command: SaveSite, ctx: HandlerContext) -> workstations.SiteRow:
    return workstations.save_site(
        ctx.uow,
        ctx.clock,
        ctx.user,
        code=command.code,
        name=command.name,
        timezone=command.timezone,
        is_lab=command.is_lab,
    )


# ---------------------------------------------------------------- the audit log


@dataclass(frozen=True, kw_only=True)
class ExportAuditLog(Command[int]):
    """Write the entries matching ``query`` to a CSV file (the export is audited)."""

    query: AuditQuery
    path: Path


@handler(ExportAuditLog)
def _export_audit_log(command: ExportAuditLog, ctx: HandlerContext) -> int:
    return audit_log.export_audit_csv(ctx.uow, ctx.clock, ctx.user, command.query, command.path)


@dataclass(frozen=True, kw_only=True)
class MarkAuditReviewed(Command[int]):
    """Record a review of flagged audit entries; returns how many were newly marked."""

    entry_ids: tuple[int, ...]
    note: str = ""


@handler(MarkAuditReviewed)
def _mark_audit_reviewed(command: MarkAuditReviewed, ctx: HandlerContext) -> int:
    return audit_log.mark_reviewed(ctx.uow, ctx.clock, ctx.user, command.entry_ids, command.note)


@dataclass(frozen=True, kw_only=True)
class VerifyAuditLog(Command[ChainReport]):
    """Check the whole audit chain and append the check and its outcome to the log.

    A command, not a query, because the check is recorded (flagged when tampering was
    found); a check that records nothing is the query
    ``audit_log.verify_audit_log(..., record=False)``. Sent without an actor from the
    command line.
    """

    anchor: tuple[int, str] | None = None


@handler(VerifyAuditLog)
def _verify_audit_log(command: VerifyAuditLog, ctx: HandlerContext) -> ChainReport:
    return audit_log.verify_audit_log(ctx.uow, ctx.clock, ctx.actor, anchor=command.anchor)
