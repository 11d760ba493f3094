"""Frozen data transfer objects: what services hand to the UI and the command line.

No ORM object ever leaves a unit of work; screens get these instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from labdesk.domain.catalog import SpecimenCategory, TemperatureClass
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


def authorize(actor: SignedInUser, permission: Permission) -> None:
    """Check the permission matrix for the signed-in user.

    Raises:
        PermissionDenied: when the actor's role does not allow ``permission``.
    """
    require(actor.role, permission, emergency=actor.emergency)
