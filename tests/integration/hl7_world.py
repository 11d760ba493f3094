"""A small clinic for HL7 tests: catalog, users, one patient, one order, two specimens.

Also builders for synthetic HL7 messages (never real patient data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain.accession import make_accession
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority, TestStatus
from labdesk.domain.patient import Patient, Sex
from labdesk.domain.people import Role, Site, User
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.interface.ingest import Ingestor
from labdesk.kernel.dto import SignedInUser

MRN = "M0000001"
PLACER = "PO100"
ACC_PST = make_accession(2026, 1)
ACC_LAV = make_accession(2026, 2)


@dataclass
class World:
    """Ids of what :func:`build_world` created."""

    uow: UnitOfWorkFactory
    clock: FixedClock
    ingestor: Ingestor
    patient_id: int
    order_id: int
    specimen_ids: dict[str, int]
    tests: dict[str, int]
    users: dict[Role, SignedInUser]

    def ingest(self, text: str, source: str = "test") -> tuple[str, str]:
        """Feed one frame; returns (MSA-1, MSA-3)."""
        reply = self.ingestor.handle_frame(text, source)
        msa = next(s for s in reply.ack.split("\r") if s.startswith("MSA"))
        fields = msa.split("|")
        return fields[1], fields[3] if len(fields) > 3 else ""


def build_world(engine: Engine, clock: FixedClock) -> World:
    """Populate a migrated database."""
    factory = UnitOfWorkFactory(engine)
    now = clock.now()
    with factory() as uow:
        ensure_shipped_catalog(uow)
        site = Site(code="CLINIC", name="Test clinic")
        uow.people.add(site)
        users = {}
        for role in (Role.MEDICAL_ASSISTANT, Role.CLINICIAN, Role.ADMIN):
            user = User(
                username=role.value,
                display_name=role.label,
                role=role,
                password_hash="!",
                created_at=now,
                initials=role.value[:2].upper(),
            )
            uow.people.add(user)
            users[role] = user
        patient = Patient(
            mrn=MRN,
            family_name="Testpatient",
            given_name="Alpha",
            birth_date=date(1980, 1, 2),
            sex=Sex.FEMALE,
            created_at=now,
        )
        uow.patients.add(patient)
        uow.people.flush()
        uow.patients.flush()
        order = Order(
            placer_order_number=PLACER,
            patient_id=patient.id,
            ordering_provider="Dr Test",
            priority=Priority.ROUTINE,
            source=OrderSource.MANUAL,
            ordered_at=now - timedelta(hours=3),
            created_at=now,
            requisition="RQ1",
        )
        uow.orders.add(order)
        uow.orders.flush()
        specimens = {}
        for acc, container in ((ACC_PST, "PST"), (ACC_LAV, "LAV")):
            s = Specimen(
                accession=acc,
                patient_id=patient.id,
                container_code=container,
                site_id=site.id,
                status=SpecimenStatus.RECEIVED,
                collected_at=now - timedelta(hours=2),
                collected_by_id=users[Role.MEDICAL_ASSISTANT].id,
                created_at=now,
                volume_ml=4.0,
            )
            uow.specimens.add(s)
            uow.specimens.flush()
            specimens[acc] = s.id
        tests = {}
        for code, acc in (("K", ACC_PST), ("HGB", ACC_LAV), ("CBC", ACC_LAV)):
            ot = OrderedTest(
                order_id=order.id,
                test_code=code,
                status=TestStatus.RECEIVED,
                specimen_id=specimens[acc],
                status_changed_at=now,
            )
            uow.orders.add_test(ot)
            uow.orders.flush()
            tests[code] = ot.id
        uow.commit()
        signed = {
            role: SignedInUser(
                id=u.id,
                username=u.username,
                display_name=u.display_name,
                role=role,
                initials=u.initials,
            )
            for role, u in users.items()
        }
        world = World(
            factory,
            clock,
            Ingestor(factory, clock, timezone="UTC"),
            patient.id,
            order.id,
            specimens,
            tests,
            signed,
        )
    return world


# ---------------------------------------------------------------- message builders

MSH = "MSH|^~\\&|LABSYS|REFLAB|LABDESK|CLINIC|20260302120000||{type}|{control}|P|{version}"


def pid(mrn: str = MRN) -> str:
    return f"PID|1||{mrn}^^^CLINIC^MR||Testpatient^Alpha||19800102|F"


def obx(
    code: str,
    value: str,
    *,
    units: str = "",
    flag: str = "",
    status: str = "F",
    vtype: str = "NM",
    name: str = "",
    set_id: int = 1,
) -> str:
    return (
        f"OBX|{set_id}|{vtype}|{code}^{name or code}^LN||{value}|{units}|ref|{flag}|||"
        f"{status}|||20260302110000"
    )


def group(
    test: str,
    status: str,
    *observations: str,
    placer: str = PLACER,
    filler: str = "",
    spm: str = "",
    nte: str = "",
) -> list[str]:
    segments = [
        f"ORC|RE|{placer}|{filler}",
        f"OBR|1|{placer}|{filler}|{test}^{test}^L|||20260302100000|||||||||||||||"
        f"20260302113000|||{status}",
    ]
    if nte:
        segments.append(f"NTE|1|L|{nte}")
    segments += list(observations)
    if spm:
        segments.append(f"SPM|1|{spm}&CLINIC||BLD^Whole blood^HL70487")
    return segments


def oru(
    control: str, *groups: list[str], mrn: str = MRN, version: str = "2.5.1", end: str = "\r"
) -> str:
    lines = [MSH.format(type="ORU^R01^ORU_R01", control=control, version=version), pid(mrn)]
    for g in groups:
        lines += g
    return end.join(lines) + end


def order_message(
    control: str,
    *orders: tuple[str, str, str],
    mrn: str = "M0000099",
    kind: str = "ORM^O01",
    name: str = "Newpatient^Beta",
    dob: str = "19900304",
    end: str = "\r",
) -> str:
    """``orders``: (ORC-1, placer number, test code or "")."""
    lines = [
        MSH.format(type=kind, control=control, version="2.5.1"),
        f"PID|1||{mrn}^^^EHR^MR||{name}||{dob}|M",
    ]
    for n, (control_code, placer, test) in enumerate(orders, start=1):
        lines.append(f"ORC|{control_code}|{placer}||RQ9|||||20260302090000|||1234^Doctor^Dana")
        if kind.startswith("OML"):
            lines.append("TQ1|1||||||||S")
        if test:
            lines.append(f"OBR|{n}|{placer}||{test}^{test}^L")
    return end.join(lines) + end


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
