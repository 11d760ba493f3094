"""Core services on a real database: sign-in, patient search, demo seeding, custody links."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from labdesk.access.auth import MAX_FAILED_ATTEMPTS, authenticate, create_user
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog, import_catalog_file, list_catalog
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import AuthenticationError, CatalogImportError, NotFound, ValidationError
from labdesk.domain.hashchain import GENESIS, link_hash
from labdesk.domain.patient import Patient, PatientIdentifier, Sex
from labdesk.domain.people import Role
from labdesk.seed.demo import STATES, seed_demo
from labdesk.station.patients import lookup_by_scan, lookup_patients


@pytest.fixture
def uow(engine: Engine) -> UnitOfWorkFactory:
    factory = UnitOfWorkFactory(engine)
    with factory() as u:
        ensure_shipped_catalog(u)
        u.commit()
    return factory


def _add_patients(uow: UnitOfWorkFactory, now: datetime) -> None:
    people = [
        ("M0000001", "Smith", "John", date(1980, 3, 4)),
        ("M0000002", "Smithson", "Ann", date(1975, 1, 2)),
        ("M0000003", "Müller", "Zoë", date(1990, 12, 31)),
        ("M0000004", "O'Brien", "Liam", date(1980, 3, 4)),
    ]
    with uow() as u:
        for mrn, family, given, born in people:
            p = Patient(
                mrn=mrn,
                family_name=family,
                given_name=given,
                birth_date=born,
                sex=Sex.UNKNOWN,
                created_at=now,
            )
            u.patients.add(p)
            u.patients.flush()
            assert p.id is not None
            u.patients.add_identifier(
                PatientIdentifier(patient_id=p.id, system="wristband", value=f"WB-{mrn}")
            )
        u.commit()


@pytest.mark.parametrize(
    ("query", "mrns"),
    [
        ("smi", {"M0000001", "M0000002"}),
        ("SMITH, jo", {"M0000001"}),
        ("john smith", {"M0000001"}),
        ("muller", {"M0000003"}),
        ("Mül z", {"M0000003"}),
        ("o'brien", {"M0000004"}),
        ("obri", set()),
        ("1980-03-04", {"M0000001", "M0000004"}),
        ("03/04/1980", {"M0000001", "M0000004"}),
        ("smith 1980-03-04", {"M0000001"}),
        ("M000000", {"M0000001", "M0000002", "M0000003", "M0000004"}),
        ("'; DROP TABLE patients; --", set()),
        ("", set()),
    ],
)
def test_search_patients_is_forgiving(
    uow: UnitOfWorkFactory, clock: FixedClock, query: str, mrns: set[str]
) -> None:
    _add_patients(uow, clock.now())
    with uow() as u:
        found = {p.mrn for p in lookup_patients(u, query)}
        assert u.patients.count() == 4
    assert found == mrns


def test_find_by_scan_wristband_and_mrn(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    _add_patients(uow, clock.now())
    with uow() as u:
        assert lookup_by_scan(u, "WB-M0000003\r\n").family_name == "Müller"
        assert lookup_by_scan(u, "M0000002").given_name == "Ann"
        with pytest.raises(NotFound, match="No patient"):
            lookup_by_scan(u, "WB-UNKNOWN")


def test_sign_in_ok_wrong_and_lockout(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    with uow() as u:
        create_user(
            u,
            clock,
            username="MA1",
            display_name="Mia Ames",
            role=Role.MEDICAL_ASSISTANT,
            password="correct horse grazing",
        )
        u.commit()
    with uow() as u:
        user = authenticate(u, clock, "ma1", "correct horse grazing")
    assert (user.username, user.role, user.initials) == ("ma1", Role.MEDICAL_ASSISTANT, "MA")
    for _ in range(MAX_FAILED_ATTEMPTS):
        with uow() as u, pytest.raises(AuthenticationError, match="Wrong user name"):
            authenticate(u, clock, "ma1", "wrong")
        clock.advance(timedelta(minutes=1))  # past each progressive wait
    with uow() as u, pytest.raises(AuthenticationError, match="locked"):
        authenticate(u, clock, "ma1", "correct horse grazing")
    clock.advance(timedelta(minutes=16))
    with uow() as u:
        assert authenticate(u, clock, "ma1", "correct horse grazing").id == user.id
    with uow() as u, pytest.raises(AuthenticationError, match="Wrong user name"):
        authenticate(u, clock, "nobody", "x")


def test_password_stored_as_argon2id(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    with uow() as u:
        create_user(
            u,
            clock,
            username="doc",
            display_name="D",
            role=Role.CLINICIAN,
            password="a long passphrase",
        )
        u.commit()
    with uow() as u:
        stored = u.people.user_by_username("doc")
        assert stored is not None
        assert stored.password_hash.startswith("$argon2id$")
        assert "a long passphrase" not in stored.password_hash


@pytest.mark.parametrize("password", ["short", "samename"])
def test_weak_password_refused(uow: UnitOfWorkFactory, clock: FixedClock, password: str) -> None:
    with uow() as u, pytest.raises(ValidationError):
        create_user(
            u, clock, username="samename", display_name="S", role=Role.ADMIN, password=password
        )


def _snapshot(uow: UnitOfWorkFactory) -> list[tuple[str, str, str]]:
    with uow() as u:
        rows = []
        for p in u.patients.search_name_prefix("", limit=1000) or []:
            rows.append((p.mrn, p.family_name, p.given_name))
        for pid in range(1, 100):
            for s in u.specimens.for_patient(pid):
                rows.append((s.accession, s.container_code, s.status.value))
        return sorted(rows)


def test_seed_demo_every_state_and_deterministic(
    engine: Engine, tmp_path: Path, clock: FixedClock
) -> None:
    from labdesk.adapters import migrate
    from labdesk.adapters.database import make_engine

    snapshots = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        other = make_engine(f"sqlite:///{tmp_path / name}.sqlite3") if name != "a" else engine
        migrate.upgrade(other)
        factory = UnitOfWorkFactory(other)
        with factory() as u:
            ensure_shipped_catalog(u)
            summary = seed_demo(u, FixedClock(clock.now()), patients=len(STATES) * 2, seed=seed)
            u.commit()
        assert all(summary.by_state[s] == 2 for s in STATES)
        with factory() as u:
            statuses = {s.value for s in u.orders.count_tests_by_status()}
        assert {
            "ordered",
            "collected",
            "in_transit",
            "received",
            "final",
            "acknowledged",
        } <= statuses
        snapshots.append(_snapshot(factory))
    assert snapshots[0] == snapshots[1]
    assert snapshots[0] != snapshots[2]


def test_seeded_custody_chains_link(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    with uow() as u:
        seed_demo(u, clock, patients=len(STATES), seed=1)
        u.commit()
    with uow() as u:
        lost = [
            s
            for pid in range(1, 20)
            for s in u.specimens.for_patient(pid)
            if s.status.value == "lost"
        ]
        assert lost
        assert lost[0].id is not None
        events = u.custody.for_specimen(lost[0].id)
        assert [e.kind for e in events][-1] is CustodyEventKind.LOST
        previous = GENESIS
        for e in events:
            assert e.prev_hash == previous
            assert e.hash == link_hash(previous, e.content())
            previous = e.hash


def test_catalog_import_all_or_nothing(
    uow: UnitOfWorkFactory, clock: FixedClock, tmp_path: Path
) -> None:
    header = (
        "code,loinc,name,specimen_type,container_code,preferred_volume_ml,"
        "minimum_volume_ml,stability_ambient_h,stability_refrigerated_h,stability_frozen_h,"
        "transport_temperature,routine_tat_min,stat_tat_min,working_days,critical_low,"
        "critical_high,units,handling\n"
    )
    good = "FERR2,2276-4,Ferritin (lab B),serum,SST,1,0.5,8,72,720,refrigerated,1440,,false,,,,\n"
    bad = "BAD1,2276-4,Bad,serum,NOPE,1,0.5,8,72,720,refrigerated,1440,,false,,,,\n"
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text(header + good + bad, encoding="utf-8")
    with uow() as u:
        before = len(list_catalog(u))
        with pytest.raises(CatalogImportError) as info:
            import_catalog_file(u, clock, None, bad_file)
        assert [(p.row, p.field) for p in info.value.problems] == [(3, "container_code")]
    with uow() as u:
        assert len(list_catalog(u)) == before
    good_file = tmp_path / "good.csv"
    good_file.write_text(header + good, encoding="utf-8")
    with uow() as u:
        assert import_catalog_file(u, clock, None, good_file) == 1
        u.commit()
    with uow() as u:
        assert len(list_catalog(u)) == before + 1
        assert len(list_catalog(u)) >= 25


def test_aware_datetimes_round_trip(uow: UnitOfWorkFactory) -> None:
    at = datetime(2026, 7, 1, 23, 59, 59, 123456, tzinfo=UTC)
    with uow() as u:
        p = Patient(
            mrn="T1",
            family_name="Tz",
            given_name="A",
            birth_date=date(2000, 1, 1),
            sex=Sex.FEMALE,
            created_at=at.astimezone(),
        )
        u.patients.add(p)
        u.commit()
    with uow() as u:
        back = u.patients.by_mrn("T1")
        assert back is not None
        assert back.created_at == at
        assert back.created_at.tzinfo is not None
