"""Minimum necessary and secrets: couriers see no demographics, logs hold no names or secrets."""

from __future__ import annotations

import dataclasses
import logging
import stat
import sys
import typing
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from access_world import (
    PASSWORD,
    PATIENT_NAMES,
    build_world,
    use_cheap_hashing,
)
from custody_world import World as CustodyWorld
from sqlalchemy import Engine, text

from labdesk.access.auth import authenticate
from labdesk.access.privacy import ExportPurpose, demographic_fields, minimum_necessary
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.timeline import specimen_timeline
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import AuthenticationError, LabdeskError
from labdesk.domain.people import Role
from labdesk.domain.permissions import Permission, allows
from labdesk.kernel.dto import PatientSummary
from labdesk.log_setup import log_to_file
from labdesk.station.patients import find_by_scan, get_patient, search_patients

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_permission_matrix import FUNCTIONS, HELPER, REQUIRED, SIGNED_IN


def _courier_functions() -> list[str]:
    keys = []
    for key, needed in REQUIRED.items():
        if needed in (SIGNED_IN, HELPER) or key not in FUNCTIONS:
            continue
        permissions = {needed} if isinstance(needed, Permission) else needed
        assert isinstance(permissions, (set, frozenset))
        if any(allows(Role.COURIER, p) for p in permissions):
            keys.append(key)
    return sorted(keys)


@pytest.mark.parametrize("key", _courier_functions())
def test_what_couriers_can_call_returns_no_demographics(key: str) -> None:
    returns = typing.get_type_hints(FUNCTIONS[key]).get("return")
    assert demographic_fields(returns) == set(), f"{key} hands couriers patient data"


@dataclasses.dataclass
class _RowWithPatient:
    accession: str
    patient: PatientSummary | None


def test_demographic_fields_sees_nested_patients() -> None:
    assert demographic_fields(list[_RowWithPatient]) == {"PatientSummary"}


def test_a_courier_round_trip_shows_no_patient(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    world = CustodyWorld.build(uow_factory, clock)
    accession = world.specimen()
    courier = world.users["chris"]
    seen: list[object] = []
    with world.uow() as uow:
        manifest = start_pickup(uow, clock, courier, "CLINIC", station_code="VAN-1")
        seen.append(manifest)
    with world.uow() as uow:
        seen.append(scan_for_pickup(uow, clock, courier, manifest.number, accession))
        seen.append(scan_for_pickup(uow, clock, courier, manifest.number, accession))
    with world.uow() as uow:
        seen.append(finish_pickup(uow, clock, courier, manifest.number, "courier secret phrase"))
    with world.uow() as uow:
        seen.append(specimen_timeline(uow, courier, accession=accession))
    dumped = repr([dataclasses.asdict(x) for x in seen])  # type: ignore[call-overload]
    for secret in ("Testperson", "Pat", "1970-01-01", "1970, 1, 1", "M0000001"):
        assert secret not in dumped


def test_exports_keep_only_what_their_purpose_needs() -> None:
    @dataclasses.dataclass
    class Row:
        accession: str
        family_name: str
        birth_date: str
        container_code: str
        test_code: str

    rows = [Row("2600000017", "Zabriskie", "1961-05-17", "LAV", "CBC")]
    assert minimum_necessary(rows, ExportPurpose.COURIER_MANIFEST) == [
        {"accession": "2600000017", "container_code": "LAV"}
    ]
    assert minimum_necessary(rows, ExportPurpose.TURNAROUND_STATISTICS) == [
        {"container_code": "LAV", "test_code": "CBC"}
    ]


# ---------------------------------------------------------------- logs


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Everything logged at DEBUG, SQL statements included, into a file."""
    root = logging.getLogger()
    before = list(root.handlers), root.level
    path = log_to_file(tmp_path / "data", logging.DEBUG)
    engine_log = logging.getLogger("sqlalchemy.engine")
    engine_log.setLevel(logging.INFO)  # as with echo=True: statements and parameters
    try:
        yield path
    finally:
        engine_log.setLevel(logging.WARNING)
        for handler in root.handlers[:]:
            if handler not in before[0]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(before[1])


def test_no_patient_name_or_secret_reaches_the_log_file(
    engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, log_file: Path
) -> None:
    use_cheap_hashing(monkeypatch)
    world = build_world(engine, clock)
    logger = logging.getLogger("labdesk.test_flow")
    with world.uow() as uow:
        actor = authenticate(uow, clock, "ana", PASSWORD, station="DRAW-7")
    with world.uow() as uow, pytest.raises(AuthenticationError):
        authenticate(uow, clock, "ana", "my wrong password is hunter2hunter2")
    clock.advance(timedelta(minutes=5))
    for query in ("Zabriskie", "zabriskie quint", "Vanterpool 1990-09-02", "P90000"):
        with world.uow() as uow:
            found = search_patients(uow, clock, actor, query)
            logger.info("search returned %r", found)  # a careless log line: repr hides names
    with world.uow() as uow:
        patient = find_by_scan(uow, clock, actor, "WB-P900002")
    with world.uow() as uow:
        get_patient(uow, clock, actor, patient.id)
    try:
        with world.uow() as uow:
            # A failing statement carrying a patient name as a parameter.
            uow.session.execute(
                text("INSERT INTO patients (mrn) VALUES (:mrn)"), {"mrn": "Quintessa"}
            )
    except LabdeskError:
        logger.exception("insert failed")
    logger.info(
        "connecting to postgresql+psycopg://labdesk:Sup3rSecret@db/labdesk password=hunter22 "
        "pin: 480613"
    )
    logging.getLogger().handlers[-1].flush()
    content = log_file.read_text(encoding="utf-8")
    assert "search returned" in content
    assert "INSERT INTO patients" in content  # statements are logged, their values are not
    forbidden = {n for _, family, given, _ in PATIENT_NAMES for n in (family, given)}
    forbidden |= {"1961-05-17", "1990-09-02", "1990, 9, 2", PASSWORD, "hunter2", "Sup3rSecret"}
    forbidden |= {"480613", "$argon2id$"}
    leaked = sorted(word for word in forbidden if word.lower() in content.lower())
    assert leaked == []
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_file.parent.stat().st_mode) & 0o077 == 0
