"""Repositories and the unit of work on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkFactory
from labdesk.domain.audit import AuditAction, AuditEntry
from labdesk.domain.catalog import ContainerType, SpecimenCategory, TemperatureClass
from labdesk.domain.catalog import TestDefinition as CatalogTest
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEvent, CustodyEventKind
from labdesk.domain.errors import StorageError
from labdesk.domain.order import Order, OrderSource, OrderStatus, Priority
from labdesk.domain.order import TestStatus as OrderedTestStatus
from labdesk.domain.patient import Patient, Sex
from labdesk.domain.people import Role, Site
from labdesk.domain.printing import PrintJob, PrintJobKind, PrintJobStatus
from labdesk.domain.result import AbnormalFlag, AckMeaning, Acknowledgement, Result, ResultStatus
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import SiteSpec, StaffSpec, StationSpec

NEW_YORK = ZoneInfo("America/New_York")
# Instants given in several zones and with microseconds: all must come back as equal UTC.
T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=NEW_YORK)
T1 = datetime(2026, 3, 2, 14, 5, 7, 1, tzinfo=UTC)
T2 = datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30)))
T3 = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)  # the ambiguous hour at the DST change


def _fields(obj: object) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


def _as_utc(values: dict[str, Any]) -> dict[str, Any]:
    # Python's == between datetimes in different zones is always False for a wall time in a
    # repeated (DST fold) hour (PEP 495), so compare the instants in UTC.
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in values.items()}


def assert_same_record(loaded: object, original: object) -> None:
    """Every dataclass field equal; datetimes aware UTC; enums come back as enum members."""
    assert loaded is not original
    assert type(loaded) is type(original)
    got, want = _fields(loaded), _fields(original)
    assert got == _as_utc(want)
    for name, value in got.items():
        if isinstance(value, datetime):
            assert value.tzinfo is not None, name
            assert value.utcoffset() == timedelta(0), name
        if want[name] is not None:
            assert type(value) is type(want[name]) or isinstance(want[name], datetime), name


def _add(uow: SqlAlchemyUnitOfWork, item: object) -> Any:
    uow.session.add(item)
    uow.session.flush()
    return item


def _build_graph(uow: SqlAlchemyUnitOfWork) -> dict[str, object]:
    """One of every mapped domain class, linked by foreign keys, every column set.

    The clinic comes from the seed builder, with the odd values a round trip must keep
    (zones, microseconds, the DST fold, accents); the rows no builder step makes (a custody
    event with made-up hashes, results, an audit entry, print jobs) are added directly.
    """
    build = ClinicBuilder(uow, FixedClock(T0))
    site = build.site(SiteSpec("MAIN", "Main Street Clinic", timezone="America/New_York"))
    lab = build.site(SiteSpec("LAB", "Reference Lab", timezone="America/Chicago", is_lab=True))
    assert site.id is not None
    station = build.station(
        StationSpec(
            "DRAW-1",
            "Draw station 1",
            "MAIN",
            label_printer_uri="cups://LABELS",
            document_printer_uri="pdf:///tmp/docs",
        )
    )
    user = build.user(
        StaffSpec("mara", "Mara Lopez", Role.MEDICAL_ASSISTANT, "ML"),
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        badge_id="B-0042",
    )
    user.pin_hash = "$argon2id$pin"  # a locked-out user: every column holds a value
    user.failed_attempts = 2
    user.locked_until = T3
    patient = build.patient(
        SyntheticPerson.named("MRN0001", "Müller-Łukasz", "Zoë", date(1961, 2, 28), Sex.FEMALE),
        created_at=T1,
    )
    assert patient.id is not None
    assert user.id is not None
    identifier = build.identify(patient, "WB-778", "wristband")
    container = ContainerType(
        code="LAV",
        name="Lavender K2EDTA 4 mL",
        cap_colour="lavender",
        cap_hex="#9B7FD1",
        additive="K2EDTA",
        draw_rank=50,
        nominal_volume_ml=4.0,
        inversions="8-10",
        category=SpecimenCategory.BLOOD,
    )
    test_def = CatalogTest(
        code="K",
        loinc="2823-3",
        name="Potassium",
        specimen_type="plasma",
        container_code="LAV",
        preferred_volume_ml=1.0,
        minimum_volume_ml=0.25,
        stability_ambient_h=2.5,
        stability_refrigerated_h=None,
        stability_frozen_h=0.1,
        transport_temperature=TemperatureClass.AMBIENT,
        routine_tat_min=240,
        stat_tat_min=60,
        working_days=True,
        critical_low=2.8,
        critical_high=6.2,
        units="mmol/L",
        handling="on_ice;protect_from_light",
        active=False,
    )
    build.catalog_entries([container], [test_def])
    order, _ = build.order(
        patient.id,
        placer="PO-1",
        provider="Dr. Ada Okafor",
        provider_id=user.id,
        priority=Priority.STAT,
        source=OrderSource.HL7,
        ordered_at=T0,
        created_at=T1,
        requisition="REQ-9",
    )
    order.status = OrderStatus.CANCELLED
    order.cancel_reason = "duplicate"
    specimen = build.specimen(
        patient.id,
        "LAV",
        site_id=site.id,
        collected_by_id=user.id,
        collected_at=T0,
        status=SpecimenStatus.IN_TRANSIT,
        accession="2600000018",
        created_at=T1,
        temperature=TemperatureClass.REFRIGERATED,
        volume_ml=3.75,
        note="difficult draw, left arm",
        status_changed_at=T2,
    )
    assert specimen.id is not None
    (ordered,) = build.add_tests(
        order, ("K",), status=OrderedTestStatus.IN_TRANSIT, specimen=specimen, changed_at=T2
    )
    assert ordered.id is not None
    event = _add(
        uow,
        CustodyEvent(
            specimen_id=specimen.id,
            seq=1,
            kind=CustodyEventKind.PICKED_UP,
            actor_id=user.id,
            occurred_at=T2,
            recorded_at=T3,
            location="Main Street Clinic lockbox",
            temperature_class=TemperatureClass.FROZEN,
            seal_intact=False,
            container_ref="BAG-17",
            reason="courier run",
            note="ice pack added",
            prev_hash="0" * 64,
            hash="a" * 64,
            chain_prev_hash="b" * 64,
            chain_hash="c" * 64,
        ),
    )
    first = _add(
        uow,
        Result(
            observation_code="2823-3",
            observation_name="Potassium",
            value="6.9",
            status=ResultStatus.PRELIMINARY,
            received_at=T1,
            ordered_test_id=ordered.id,
            specimen_id=specimen.id,
            units="mmol/L",
            reference_range="3.5-5.1",
            abnormal_flag=AbnormalFlag.CRITICAL_HIGH,
            observed_at=T0,
            message_id="MSG-1",
        ),
    )
    corrected = _add(
        uow,
        Result(
            observation_code="2823-3",
            observation_name="Potassium",
            value="4.1\nhaemolysed sample\u2014recollect",
            status=ResultStatus.CORRECTED,
            received_at=T2,
            ordered_test_id=ordered.id,
            supersedes_id=first.id,
        ),
    )
    ack = _add(
        uow,
        Acknowledgement(
            ordered_test_id=ordered.id,
            user_id=user.id,
            meaning=AckMeaning.PATIENT_NOTIFIED,
            acknowledged_at=T3,
            note="called patient",
        ),
    )
    audit = _add(
        uow,
        AuditEntry(
            at=T1,
            action=AuditAction.PRINT,
            entity="specimen",
            entity_id=str(specimen.id),
            outcome="failure",
            user_id=user.id,
            station="DRAW-1",
            detail="printer offline",
            prev_hash="0" * 64,
            hash="d" * 64,
        ),
    )
    job = PrintJob(
        kind=PrintJobKind.LABEL,
        printer_uri="socket://127.0.0.1:9100",
        station_code="DRAW-1",
        created_at=T0,
        content_json='{"accession": "2600000018"}',
        payload=b"^XA\x00\xff\x10binary^XZ",
        specimen_id=specimen.id,
        status=PrintJobStatus.FAILED,
        attempts=3,
        last_error="connection refused",
        next_attempt_at=T2,
        sent_at=T1,
        reprint_reason="",
        requested_by_id=user.id,
    )
    uow.print_jobs.add(job)
    uow.print_jobs.flush()
    reprint = PrintJob(
        kind=PrintJobKind.LABEL,
        printer_uri="socket://127.0.0.1:9100",
        station_code="DRAW-1",
        created_at=T3,
        reprint_of_id=job.id,
        reprint_reason="smudged",
    )
    uow.print_jobs.add(reprint)
    uow.print_jobs.flush()
    return {
        "site": site,
        "lab": lab,
        "station": station,
        "user": user,
        "patient": patient,
        "identifier": identifier,
        "container": container,
        "test_def": test_def,
        "order": order,
        "ordered": ordered,
        "specimen": specimen,
        "event": event,
        "first": first,
        "corrected": corrected,
        "ack": ack,
        "audit": audit,
        "job": job,
        "reprint": reprint,
    }


def _key(obj: object) -> Any:
    return obj.code if isinstance(obj, ContainerType | CatalogTest) else obj.id  # type: ignore[attr-defined]


# ---------------------------------------------------------------- round trips


def test_every_mapped_class_round_trips(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        graph = _build_graph(uow)
        uow.commit()

    classes = {type(obj) for obj in graph.values()}
    assert len(classes) == 15  # every class in orm._MAPPINGS

    with uow_factory() as uow:
        for name, original in graph.items():
            loaded = uow.session.get(type(original), _key(original))
            assert loaded is not None, name
            assert_same_record(loaded, original)


def test_repository_lookups_return_stored_records(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        graph = _build_graph(uow)
        uow.commit()
    patient, specimen, order = graph["patient"], graph["specimen"], graph["order"]
    assert isinstance(patient, Patient)
    assert isinstance(specimen, Specimen)
    assert isinstance(order, Order)

    with uow_factory() as uow:
        by_mrn = uow.patients.by_mrn("MRN0001")
        assert by_mrn is not None
        assert_same_record(by_mrn, patient)
        by_wristband = uow.patients.by_identifier("wristband", "WB-778")
        assert by_wristband is not None
        assert by_wristband.id == patient.id
        assert [i.value for i in uow.patients.identifiers(patient.id or 0)] == ["WB-778"]
        assert [p.id for p in uow.patients.by_birth_date(date(1961, 2, 28))] == [patient.id]
        by_accession = uow.specimens.by_accession("2600000018")
        assert by_accession is not None
        assert_same_record(by_accession, specimen)
        assert [s.id for s in uow.specimens.for_patient(patient.id or 0)] == [specimen.id]
        assert uow.orders.by_placer_number("PO-1") is not None
        assert uow.orders.active_for_patient(patient.id or 0) == []  # cancelled
        assert [t.test_code for t in uow.orders.tests_for_specimen(specimen.id or 0)] == ["K"]
        assert uow.orders.count_tests_by_status() == {OrderedTestStatus.IN_TRANSIT: 1}
        assert uow.people.user_by_username("  MARA ") is not None
        assert uow.people.user_by_badge("B-0042") is not None
        assert uow.people.site_by_code("LAB") is not None
        assert [s.code for s in uow.people.sites()] == ["LAB", "MAIN"]
        assert uow.people.station_by_code("DRAW-1") is not None
        assert [t.code for t in uow.catalog.tests()] == ["K"]
        assert uow.catalog.tests(active_only=True) == []
        assert uow.catalog.count_tests() == 1
        assert uow.patients.count() == 1
        assert uow.specimens.count() == 1


def test_stored_instants_compare_in_sql(uow_factory: UnitOfWorkFactory) -> None:
    """Ordering by a UTCDateTime column follows the instant, whatever zone it was given in."""
    with uow_factory() as uow:
        graph = _build_graph(uow)
        patient = graph["patient"]
        assert isinstance(patient, Patient)
        assert patient.id is not None
        base = graph["specimen"]
        assert isinstance(base, Specimen)
        # 14:30 in New York is 19:30 UTC; 23:00 at +05:30 is 17:30 UTC: a naive text sort of
        # local times would get the order wrong.
        for accession, when in (
            ("2600000026", datetime(2026, 3, 3, 14, 30, tzinfo=NEW_YORK)),
            ("2600000034", datetime(2026, 3, 3, 23, 0, tzinfo=timezone(timedelta(hours=5.5)))),
        ):
            uow.specimens.add(
                dataclasses.replace(base, id=None, accession=accession, collected_at=when)
            )
        uow.commit()
    with uow_factory() as uow:
        newest_first = uow.specimens.for_patient(patient.id)
        assert [s.accession for s in newest_first] == ["2600000026", "2600000034", "2600000018"]


# ---------------------------------------------------------------- unit of work


def _site(code: str) -> Site:
    return Site(code=code, name=f"Site {code}", timezone="UTC")


def test_changes_are_rolled_back_unless_committed(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.people.add(_site("GONE"))
        uow.people.flush()
    with uow_factory() as uow:
        uow.people.add(_site("KEPT"))
        uow.commit()
    with uow_factory() as uow:
        assert [s.code for s in uow.people.sites()] == ["KEPT"]


def test_explicit_rollback_discards_changes(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.people.add(_site("UNDO"))
        uow.people.flush()
        uow.rollback()
        uow.people.add(_site("REDO"))
        uow.commit()
    with uow_factory() as uow:
        assert [s.code for s in uow.people.sites()] == ["REDO"]


class _BoomError(Exception):
    pass


def _fail_midway(
    uow_factory: UnitOfWorkFactory, fail: Callable[[SqlAlchemyUnitOfWork], None]
) -> None:
    with uow_factory() as uow:
        uow.people.add(_site("HALF"))
        uow.people.flush()
        fail(uow)
        uow.commit()


def _raise_boom(_uow: SqlAlchemyUnitOfWork) -> None:
    raise _BoomError


def _duplicate_site(uow: SqlAlchemyUnitOfWork) -> None:
    uow.people.add(_site("HALF"))
    uow.people.flush()


def test_exception_inside_rolls_back_and_propagates(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(_BoomError):
        _fail_midway(uow_factory, _raise_boom)
    with uow_factory() as uow:
        assert uow.people.sites() == []


def test_database_error_inside_becomes_storage_error(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(StorageError):
        _fail_midway(uow_factory, _duplicate_site)
    with uow_factory() as uow:
        assert uow.people.sites() == []


def test_unit_of_work_is_not_reentrant_and_not_usable_outside(
    uow_factory: UnitOfWorkFactory,
) -> None:
    uow = uow_factory()
    with pytest.raises(RuntimeError, match="outside"):
        uow.commit()
    with uow, pytest.raises(RuntimeError, match="re-entrant"):
        uow.__enter__()
    with pytest.raises(RuntimeError, match="outside"):
        uow.session  # noqa: B018 - the property raises


# ---------------------------------------------------------------- searches


NAMES = [
    ("MRN1001", "Müller", "José"),
    ("MRN1002", "MULLER", "Ana"),
    ("MRN1003", "Mullins", "Bob"),
    ("MRN2001", "Ångström", "Åsa"),
    ("MRN2002", "O'Brien", "Seán"),
    ("MRN2003", "de la Cruz", "María"),
    ("XR-0001", "Nguyễn", "Thị"),
]


@pytest.fixture
def patients(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        for i, (mrn, family, given) in enumerate(NAMES):
            uow.patients.add(
                Patient(
                    mrn=mrn,
                    family_name=family,
                    given_name=given,
                    birth_date=date(1980, 1, 1 + i),
                    sex=Sex.UNKNOWN,
                    created_at=T1,
                )
            )
        uow.commit()


def _family_search(uow_factory: UnitOfWorkFactory, family: str, given: str = "") -> list[str]:
    with uow_factory() as uow:
        return [p.mrn for p in uow.patients.search_name_prefix(family, given)]


@pytest.mark.usefixtures("patients")
@pytest.mark.parametrize(
    ("family", "given", "expected"),
    [
        ("mul", "", ["MRN1002", "MRN1001", "MRN1003"]),  # MULLER|ANA < MULLER|JOSE < MULLINS
        ("MÜLL", "", ["MRN1002", "MRN1001", "MRN1003"]),
        ("muller", "", ["MRN1002", "MRN1001"]),
        ("Muller", "jo", ["MRN1001"]),
        ("müller", "JOSÉ", ["MRN1001"]),
        ("angst", "", ["MRN2001"]),
        ("ÅNGSTRÖM", "asa", ["MRN2001"]),
        ("o brien", "", ["MRN2002"]),
        ("O'Brien", "se", ["MRN2002"]),
        ("O'Bri", "sean", []),  # a given name narrows a complete family name only
        ("DE LA", "", ["MRN2003"]),
        ("nguyen", "thi", ["XR-0001"]),
        ("mz", "", []),
        ("", "", []),
        ("  ", "", []),
    ],
)
def test_name_prefix_search_ignores_accents_and_case(
    uow_factory: UnitOfWorkFactory, family: str, given: str, expected: list[str]
) -> None:
    assert _family_search(uow_factory, family, given) == expected


@pytest.mark.usefixtures("patients")
def test_name_prefix_search_honours_limit(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        assert len(uow.patients.search_name_prefix("m", limit=2)) == 2


@pytest.mark.usefixtures("patients")
@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("MRN1", ["MRN1001", "MRN1002", "MRN1003"]),
        ("MRN200", ["MRN2001", "MRN2002", "MRN2003"]),
        ("MRN1002", ["MRN1002"]),
        ("XR-", ["XR-0001"]),
        ("MRN3", []),
        ("mrn1", []),  # MRNs are exact identifiers: case matters
    ],
)
def test_mrn_prefix_search(
    uow_factory: UnitOfWorkFactory, prefix: str, expected: list[str]
) -> None:
    with uow_factory() as uow:
        assert [p.mrn for p in uow.patients.mrn_prefix(prefix)] == expected
