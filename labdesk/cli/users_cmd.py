"""``labdesk users``: the operator's tools when nobody can sign in as an administrator.

Run by someone with the operating-system rights to the database: no LabDesk sign-in, and
every change is audited as made from the command line. Passwords are prompted for (hidden,
asked twice), never taken as arguments that would land in shell history.
"""

from __future__ import annotations

import click

from labdesk.cli.common import open_core
from labdesk.domain.errors import NotFound
from labdesk.domain.people import Role
from labdesk.ports import UnitOfWork
from labdesk.services.users_admin import (
    NewUser,
    add_user,
    list_users,
    reset_password,
    set_active,
    unlock_user,
)

ROLES = [r.value for r in Role]


def _user_id(uow: UnitOfWork, username: str) -> int:
    user = uow.people.user_by_username(username)
    if user is None or user.id is None:
        raise NotFound(f"No user is named '{username[:64]}'.", hint="See 'labdesk users list'.")
    return user.id


@click.group()
def users() -> None:
    """User accounts (for the first administrator and emergencies)."""


@users.command("list")
def list_() -> None:
    """Show every account with its role and state."""
    core = open_core()
    try:
        with core.uow() as uow:
            rows = list_users(uow, core.clock, None)
    finally:
        core.close()
    for r in rows:
        state = "locked" if r.locked else ("active" if r.active else "disabled")
        click.echo(f"{r.username:<20} {r.role.value:<18} {state:<9} {r.display_name}")
    click.echo(f"{len(rows)} users.")


@users.command()
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The person's name.")
@click.option("--role", type=click.Choice(ROLES), default=Role.ADMIN.value, show_default=True)
@click.password_option(help="Prompted for when omitted (at least 15 characters).")
def add(username: str, display_name: str, role: str, password: str) -> None:
    """Create an account (the first administrator of a new clinic, say)."""
    core = open_core()
    try:
        with core.uow() as uow:
            row = add_user(
                uow,
                core.clock,
                None,
                NewUser(
                    username=username, display_name=display_name, role=Role(role), password=password
                ),
            )
            uow.commit()
    finally:
        core.close()
    click.echo(f"Created {row.username} ({row.role.label}); they choose a new password at sign-in.")


@users.command()
@click.argument("username")
def unlock(username: str) -> None:
    """Lift a lock after failed sign-ins at once."""
    core = open_core()
    try:
        with core.uow() as uow:
            unlock_user(uow, core.clock, None, _user_id(uow, username))
            uow.commit()
    finally:
        core.close()
    click.echo(f"{username} can sign in again.")


@users.command("reset-password")
@click.argument("username")
@click.password_option(help="A temporary password; the user must change it at sign-in.")
def reset_password_(username: str, password: str) -> None:
    """Set a temporary password (also unlocks the account)."""
    core = open_core()
    try:
        with core.uow() as uow:
            reset_password(uow, core.clock, None, _user_id(uow, username), password)
            uow.commit()
    finally:
        core.close()
    click.echo(f"Password of {username} reset; they must choose a new one at sign-in.")


@users.command()
@click.argument("username")
def enable(username: str) -> None:
    """Re-enable a disabled account."""
    core = open_core()
    try:
        with core.uow() as uow:
            set_active(uow, core.clock, None, _user_id(uow, username), True)
            uow.commit()
    finally:
        core.close()
    click.echo(f"{username} is enabled.")
