"""The shared synthetic-data builder: its steps, password modes and the world fixtures."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from labdesk.access.credentials import verify_secret
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.events import Handoff
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import NotFound
from labdesk.domain.order import TestStatus as OrderedTestStatus
from labdesk.domain.patient import Sex
from labdesk.domain.people import Role
from labdesk.domain.specimen import SpecimenStatus
from labdesk.seed.builder import UNUSABLE_HASH, ClinicBuilder, Passwords
from labdesk.seed.names import NamePool, SyntheticPerson, everyday_person, mrn_for
from labdesk.seed.reference import DEMO_CLINIC, DEMO_PROVIDER, PANELS, RouteSpec, StaffSpec

PASSWORD = "a long synthetic passphrase"


def test_drawn_tube_walks_the_state_model(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    with uow_factory() as uow:
        build = ClinicBuilder(uow, clock)
        build.catalog()
        sites = build.reference(DEMO_CLINIC)
        staff = build.staff(DEMO_CLINIC.staff)
        patient = build.patient(
            SyntheticPerson.named("M0000007", "Okafor", "Ana", date(1984, 3, 5)), wristband="WB7"
        )
        assert patient.id is not None
        _, tests = build.order(patient.id, PANELS[0], placer="ORD1", provider=DEMO_PROVIDER)
        at = clock.now() - timedelta(hours=1)
        clinic_id = sites["CLINIC"].id
        ma_id = staff["ma"].id
        assert clinic_id is not None
        assert ma_id is not None
        tubes = build.collect(
            tests, site_id=clinic_id, collector_id=ma_id, at=at, location="CLINIC / STATION-1"
        )
        assert len(tubes) == len(build.by_container(tests)) == 2  # CBC: LAV; CMP: SST
        assert {t.status for t in tests} == {OrderedTestStatus.COLLECTED}
        build.advance(tubes[0], SpecimenStatus.RECEIVED, Handoff(actor_id=ma_id, location="x"))
        uow.commit()
    with uow_factory() as uow:
        first = uow.specimens.by_accession(tubes[0].accession)
        assert first is not None
        assert first.id is not None
        assert first.status is SpecimenStatus.RECEIVED
        kinds = [e.kind for e in uow.custody.for_specimen(first.id)]
        assert kinds[0] is CustodyEventKind.COLLECTED
        assert kinds[-1] is CustodyEventKind.RECEIVED
        carried = uow.orders.tests_for_specimen(first.id)
        assert {t.status for t in carried} == {OrderedTestStatus.RECEIVED}
        assert uow.routes.by_code("CLINIC-LAB") is not None
        assert uow.patients.by_identifier("wristband", "WB7") is not None


def test_password_modes(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    specs = [StaffSpec(f"u{i}", f"User {i}", Role.COURIER) for i in range(4)]
    with uow_factory() as uow:
        build = ClinicBuilder(uow, clock)
        nobody = build.staff(specs[:1])
        shared = build.staff(specs[1:3], passwords=Passwords.SHARED, password=PASSWORD)
        each = build.staff(specs[3:], passwords=Passwords.EACH, password=PASSWORD)
        again = build.staff(specs[:1], passwords=Passwords.EACH, password=PASSWORD)
        assert nobody["u0"].password_hash == UNUSABLE_HASH
        assert again["u0"] is nobody["u0"]  # seeding twice adds nobody
        assert len({u.password_hash for u in shared.values()}) == 1
        for user in [*shared.values(), *each.values()]:
            assert verify_secret(user.password_hash, PASSWORD)
        assert each["u3"].initials == "U3"  # made by access.create_user


def test_route_between_unknown_sites_is_refused(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    with uow_factory() as uow, pytest.raises(NotFound):
        ClinicBuilder(uow, clock).route(RouteSpec("R", "NOWHERE", "LAB", 30))


def test_synthetic_people_are_deterministic() -> None:
    pool = NamePool()
    first = pool.person(random.Random(3), 7)
    assert first == NamePool().person(random.Random(3), 7)
    assert first.mrn == mrn_for(7)
    everyday = everyday_person(random.Random(1), 100000)
    assert everyday.sex in (Sex.FEMALE, Sex.MALE)
    assert everyday == everyday_person(random.Random(1), 100000)


# Each world as a fixture (one per database: two worlds in one would clash on their codes).


def test_station_world_fixture(station_world: Any) -> None:
    assert station_world.ma.role is Role.MEDICAL_ASSISTANT
    assert set(station_world.patients) == {"ana", "ben", "cai"}


def test_custody_world_fixture(custody_world: Any) -> None:
    assert set(custody_world.sites) == {"CLINIC", "CLINIC2", "LAB"}
    accession = custody_world.specimen(SpecimenStatus.LABELLED)
    assert custody_world.kinds(accession) == [
        CustodyEventKind.COLLECTED,
        CustodyEventKind.LABELLED,
    ]


def test_access_world_fixture(access_world: Any) -> None:
    assert len(access_world.patient_ids) == 3
    assert access_world.actor("ana").role is Role.MEDICAL_ASSISTANT


def test_hl7_world_fixture(hl7_world: Any) -> None:
    assert set(hl7_world.tests) == {"K", "HGB", "CBC"}


def test_spool_world_fixture(spool_world: Any) -> None:
    assert len(spool_world.accessions) == 2
