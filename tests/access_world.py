"""Users and patients for the access-control tests (synthetic), on any backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, text

from labdesk.access import credentials
from labdesk.access.auth import create_user, session_of
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.audit import AuditEntry
from labdesk.domain.clock import FixedClock
from labdesk.domain.patient import Patient, PatientIdentifier, Sex
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser

PASSWORD = "seven purple giraffes dancing"
STATION = "DRAW-7"
PIN = "480613"
BADGES = {"ana": "BADGE-0001", "cole": "BADGE-0002"}
PEOPLE = {
    "ana": ("Ana Medina", Role.MEDICAL_ASSISTANT),
    "cole": ("Cole Rivers", Role.COURIER),
    "lina": ("Lina Park", Role.LAB_RECEIVER),
    "drew": ("Dr. Drew Hale", Role.CLINICIAN),
    "root": ("Rosa Admin", Role.ADMIN),
}
PATIENT_NAMES = (
    ("P900001", "Zabriskie", "Quintessa", date(1961, 5, 17)),
    ("P900002", "Vanterpool", "Ottoline", date(1990, 9, 2)),
    ("P900003", "Zabriskie", "Marigold", date(1972, 1, 30)),
)


CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""argon2id still, with test-sized cost: production costs ~0.7 s per hash on CI."""


def use_cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap the production hasher for ``CHEAP_HASHER`` (same algorithm and format)."""
    monkeypatch.setattr(credentials, "_HASHER", CHEAP_HASHER)


@dataclass
class World:
    """A migrated database with ``PEOPLE`` and ``PATIENT_NAMES``."""

    uow: UnitOfWorkFactory
    clock: FixedClock
    ids: dict[str, int]
    patient_ids: list[int]

    def actor(self, username: str, *, emergency: bool = False) -> SignedInUser:
        """The session of ``username`` at ``STATION``."""
        with self.uow() as uow:
            user = uow.people.user(self.ids[username])
            assert user is not None
            return session_of(user, STATION, emergency=emergency)

    def audit(self) -> list[AuditEntry]:
        """Every audit entry, oldest first."""
        with self.uow() as uow:
            entries = list(uow.audit.all_in_order())
            uow.session.expunge_all()  # keep them loaded past the rollback at exit
            return entries


def build_world(engine: Engine, clock: FixedClock) -> World:
    """Create the people (badges and PINs for ana and cole) and the patients."""
    factory = UnitOfWorkFactory(engine)
    ids: dict[str, int] = {}
    patient_ids: list[int] = []
    with factory() as uow:
        for username, (name, role) in PEOPLE.items():
            ids[username] = create_user(
                uow,
                clock,
                username=username,
                display_name=name,
                role=role,
                password=PASSWORD,
                badge_id=BADGES.get(username),
                pin=PIN if username in BADGES else None,
            )
        for mrn, family, given, born in PATIENT_NAMES:
            patient = Patient(
                mrn=mrn,
                family_name=family,
                given_name=given,
                birth_date=born,
                sex=Sex.FEMALE,
                created_at=clock.now(),
            )
            uow.patients.add(patient)
            uow.patients.flush()
            assert patient.id is not None
            patient_ids.append(patient.id)
            uow.patients.add_identifier(
                PatientIdentifier(system="wristband", value=f"WB-{mrn}", patient_id=patient.id)
            )
        uow.commit()
    return World(factory, clock, ids, patient_ids)


def drop_append_only_guard(engine: Engine, table: str = "audit_entries") -> None:
    """Remove a chained table's triggers, as an attacker with the database owner's rights."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
            conn.execute(text(f"DROP TRIGGER {table}_no_truncate ON {table}"))
        else:
            conn.execute(text(f"DROP TRIGGER {table}_no_update"))
            conn.execute(text(f"DROP TRIGGER {table}_no_delete"))
