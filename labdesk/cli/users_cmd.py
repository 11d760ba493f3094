"""``labdesk users``: the operator's tools when nobody can sign in as an administrator.

Run by someone with the operating-system rights to the database: no LabDesk sign-in, and
every change is audited as made from the command line. Passwords are prompted for (hidden,
asked twice) or read from a private file (``--password-file``), never taken as arguments:
an argument lands in shell history and is visible to every user in the process list.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from labdesk.access.commands import AddUser, ResetPassword, SetUserActive, UnlockUser
from labdesk.access.users import NewUser, list_users
from labdesk.cli.common import open_core
from labdesk.domain.errors import ValidationError
from labdesk.domain.people import Role

ROLES = [r.value for r in Role]
_NO_ARGUMENT_HINT = (
    "Leave the password out to be asked for it (hidden, twice), or put it in a file only you "
    "can read and pass --password-file FILE. Change the password you typed: it is in your "
    "shell history."
)


def _refuse_password_argument(_ctx: click.Context, _param: click.Parameter, value: Any) -> None:
    if value is not None:
        raise ValidationError(
            "A password on the command line is refused: it stays in the shell history and "
            "other users see it in the process list.",
            hint=_NO_ARGUMENT_HINT,
        )


def password_input(prompt: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--password-file`` (first line of a private file), else a hidden prompt asked twice.

    ``--password`` still parses, only to be refused with a hint (never used).
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--password",
            "password_argument",
            hidden=True,
            expose_value=False,
            callback=_refuse_password_argument,
            is_eager=True,
        )(command)
        return click.option(
            "--password-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help=f"Read the {prompt.lower()} from this file (first line; readable by you "
            "only). Asked for, hidden and twice, when omitted.",
        )(command)

    return decorate


def read_password(password_file: Path | None, prompt: str) -> str:
    """The password from ``password_file`` or, without one, a hidden prompt asked twice.

    Raises:
        ValidationError: unreadable, empty or group/world-readable file.
    """
    if password_file is None:
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))
    try:
        mode = password_file.stat().st_mode
        lines = password_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"Cannot read the password file {password_file}: {exc}.",
            hint="Check the file's name and permissions.",
        ) from exc
    if os.name == "posix" and mode & 0o077:
        raise ValidationError(
            f"The password file {password_file} can be read by other users.",
            hint=f"Make it private (chmod 600 {password_file}), then choose another password: "
            "others may have read this one.",
        )
    password = lines[0].rstrip("\r\n") if lines else ""
    if not password.strip():
        raise ValidationError(f"The password file {password_file} is empty.")
    return password


@click.group()
def users() -> None:
    """User accounts (for the first administrator and emergencies)."""


@users.command("list")
def list_() -> None:
    """Show every account with its role and state."""
    core = open_core(create=False)
    try:
        rows = core.bus.query(list_users, core.clock, None)
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
@password_input("Password")
def add(username: str, display_name: str, role: str, password_file: Path | None) -> None:
    """Create an account (the first administrator of a new clinic, say).

    The password (at least 15 characters) is asked for, or read with --password-file.
    """
    password = read_password(password_file, "Password")
    core = open_core()
    try:
        new = NewUser(
            username=username, display_name=display_name, role=Role(role), password=password
        )
        row = core.bus.handle(AddUser(new=new))
    finally:
        core.close()
    click.echo(f"Created {row.username} ({row.role.label}); they choose a new password at sign-in.")


@users.command()
@click.argument("username")
def unlock(username: str) -> None:
    """Lift a lock after failed sign-ins at once."""
    core = open_core(create=False)
    try:
        core.bus.handle(UnlockUser(user=username))
    finally:
        core.close()
    click.echo(f"{username} can sign in again.")


@users.command("reset-password")
@click.argument("username")
@password_input("Temporary password")
def reset_password_(username: str, password_file: Path | None) -> None:
    """Set a temporary password (also unlocks the account); the user changes it at sign-in."""
    password = read_password(password_file, "Temporary password")
    core = open_core(create=False)
    try:
        core.bus.handle(ResetPassword(user=username, password=password))
    finally:
        core.close()
    click.echo(f"Password of {username} reset; they must choose a new one at sign-in.")


@users.command()
@click.argument("username")
def enable(username: str) -> None:
    """Re-enable a disabled account."""
    core = open_core(create=False)
    try:
        core.bus.handle(SetUserActive(user=username, active=True))
    finally:
        core.close()
    click.echo(f"{username} is enabled.")
