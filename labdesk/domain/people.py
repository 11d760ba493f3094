"""Users, roles, sites and stations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    """What a user does in the clinic; permissions follow from it."""

    MEDICAL_ASSISTANT = "medical_assistant"
    COURIER = "courier"
    LAB_RECEIVER = "lab_receiver"
    CLINICIAN = "clinician"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """Human-readable role name."""
        return self.value.replace("_", " ").capitalize()


@dataclass(eq=False, kw_only=True)
class Site:
    """A place specimens are collected or received (clinic, lab)."""

    code: str
    name: str
    timezone: str = "America/New_York"
    is_lab: bool = False
    id: int | None = None


@dataclass(eq=False, kw_only=True)
class Station:
    """A workstation, with the printers it uses."""

    code: str
    name: str
    site_id: int
    label_printer_uri: str = ""
    document_printer_uri: str = ""
    id: int | None = None


@dataclass(eq=False, kw_only=True)
class User:
    """A person who signs in. ``password_hash`` is an argon2id hash, never the password."""

    username: str
    display_name: str
    role: Role
    password_hash: str
    created_at: datetime
    initials: str = ""
    badge_id: str | None = None
    pin_hash: str | None = None
    active: bool = True
    failed_attempts: int = 0
    locked_until: datetime | None = None
    throttled_until: datetime | None = None
    expires_at: datetime | None = None
    removed_at: datetime | None = None
    must_change_password: bool = False
    last_sign_in_at: datetime | None = None
    id: int | None = None
