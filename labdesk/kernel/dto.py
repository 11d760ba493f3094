"""Frozen data transfer objects: what services hand to the UI and the command line.

No ORM object ever leaves a unit of work; screens get these instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date, datetime

from labdesk.domain.catalog import SpecimenCategory, TemperatureClass
from labdesk.domain.errors import PermissionDenied
from labdesk.domain.order import Priority, TestStatus
from labdesk.domain.patient import Patient, Sex
from labdesk.domain.people import Role
from labdesk.domain.permissions import Permission, require


@dataclass(frozen=True)
class PatientSummary:
    """A patient as a search result or banner shows it."""

    id: int
    mrn: str
    # Kept out of repr(): a DTO logged or shown in a traceback must not leak who it is.
    family_name: str = field(repr=False)
    given_name: str = field(repr=False)
    birth_date: date = field(repr=False)
    sex: Sex

    @property
    def display_name(self) -> str:
        """``Last, First``."""
        return f"{self.family_name}, {self.given_name}"

    @classmethod
    def of(cls, patient: Patient) -> PatientSummary:
        """Build from a domain patient."""
        assert patient.id is not None
        return cls(
            id=patient.id,
            mrn=patient.mrn,
            family_name=patient.family_name,
            given_name=patient.given_name,
            birth_date=patient.birth_date,
            sex=patient.sex,
        )


@dataclass(frozen=True)
class SignedInUser:
    """The user of the current session."""

    id: int
    username: str
    display_name: str
    role: Role
    initials: str
    station: str = ""
    """Where the session runs (every audit entry of the session names it)."""
    emergency: bool = False
    """A break-glass session: widened permissions, everything audited and flagged."""
    must_change_password: bool = False
    """An administrator set the password: the user must choose a new one now."""


@dataclass(frozen=True)
class CatalogRow:
    """One test in the catalog listing."""

    code: str
    loinc: str
    name: str
    specimen_type: str
    container_code: str
    container_name: str
    cap_colour: str
    draw_rank: int
    category: SpecimenCategory
    preferred_volume_ml: float
    minimum_volume_ml: float
    transport_temperature: TemperatureClass
    routine_tat_min: int
    stat_tat_min: int | None
    handling: str


@dataclass(frozen=True)
class OrderedTestRow:
    """One ordered test with its order's context."""

    ordered_test_id: int
    order_id: int
    placer_order_number: str
    test_code: str
    test_name: str
    status: TestStatus
    priority: Priority
    ordering_provider: str
    ordered_at: datetime
    specimen_accession: str | None


@dataclass(frozen=True)
class SpecimenSummary:
    """A specimen as lists show it."""

    id: int
    accession: str
    patient_id: int
    container_code: str
    status: str
    collected_at: datetime


class RoleDenied(PermissionDenied):
    """A refusal by :func:`authorize`, carrying what the audit entry of the denial needs.

    The attempt's own transaction rolls back with the error, so the denial is written
    afterwards in a unit of work of its own, where the error reaches the user (the CLI's
    and the UI's error paths call :func:`labdesk.kernel.audit.record_if_denied`).
    """

    def __init__(
        self, refused: PermissionDenied, actor: SignedInUser, permission: Permission, attempted: str
    ) -> None:
        super().__init__(refused.message, hint=refused.hint)
        self.actor = actor
        self.permission = permission
        self.attempted = attempted
        self.audited = False
        """Set once the denial's audit entry is committed (an error path may repeat)."""


def authorize(actor: SignedInUser, permission: Permission, *, attempted: str = "") -> None:
    """Check the permission matrix for the signed-in user.

    Args:
        actor: who asks.
        permission: what their role must allow.
        attempted: what was attempted, for the audit entry of a denial (default: the
            calling function, e.g. ``labdesk.results.acknowledge.acknowledge_results``).

    Raises:
        RoleDenied: a ``PermissionDenied`` when the actor's role does not allow
            ``permission``.
    """
    try:
        require(actor.role, permission, emergency=actor.emergency)
    except PermissionDenied as refused:
        raise RoleDenied(refused, actor, permission, attempted or _caller()) from None


def _caller() -> str:
    """``module.function`` that called :func:`authorize`: every service says what it is."""
    try:
        frame = sys._getframe(2)  # 0: here, 1: authorize, 2: the service
    except ValueError:  # pragma: no cover - the call stack is never that shallow
        return "unknown"
    return f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"
