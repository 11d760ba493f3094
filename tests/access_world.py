"""Users and patients for the access-control tests (synthetic), on any backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, text

from labdesk.access import credentials
from labdesk.access.auth import session_of
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.audit import AuditEntry
from labdesk.domain.clock import FixedClock
from labdesk.domain.patient import Sex
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import StaffSpec

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
        build = ClinicBuilder(uow, clock)
        for username, (name, role) in PEOPLE.items():
            user = build.user(
                StaffSpec(username, name, role),
                password=PASSWORD,  # each hashed on its own, the policy checked
                badge_id=BADGES.get(username),
                pin=PIN if username in BADGES else None,
            )
            assert user.id is not None
            ids[username] = user.id
        for mrn, family, given, born in PATIENT_NAMES:
            patient = build.patient(
                SyntheticPerson.named(mrn, family, given, born, Sex.FEMALE), wristband=f"WB-{mrn}"
            )
            assert patient.id is not None
            patient_ids.append(patient.id)
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
