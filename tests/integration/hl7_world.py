"""A small clinic for HL7 tests: catalog, users, one patient, one order, two specimens.

Also builders for synthetic HL7 messages (never real patient data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.accession import make_accession
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import OrderSource, Priority, TestStatus
from labdesk.domain.patient import Sex
from labdesk.domain.people import Role
from labdesk.domain.specimen import SpecimenStatus
from labdesk.interface.ingest import Ingestor
from labdesk.kernel.dto import SignedInUser
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import SiteSpec, StaffSpec

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


STAFF = tuple(
    StaffSpec(role.value, role.label, role, role.value[:2].upper())
    for role in (Role.MEDICAL_ASSISTANT, Role.CLINICIAN, Role.ADMIN)
)
"""Who the HL7 tests act as (nobody signs in)."""
# The tubes already at the lab, and the tests each carries.
TUBES = ((ACC_PST, "PST", ("K",)), (ACC_LAV, "LAV", ("HGB", "CBC")))


def build_world(engine: Engine, clock: FixedClock) -> World:
    """Populate a migrated database: one order whose two tubes the lab has received.

    The tubes are placed as received without their custody history (what the HL7 tests
    match results against is the accession, the patient and the tests' states).
    """
    factory = UnitOfWorkFactory(engine)
    now = clock.now()
    with factory() as uow:
        build = ClinicBuilder(uow, clock)
        build.catalog()
        site = build.site(SiteSpec("CLINIC", "Test clinic"))
        users = {spec.role: build.user(spec) for spec in STAFF}
        patient = build.patient(
            SyntheticPerson.named(MRN, "Testpatient", "Alpha", date(1980, 1, 2), Sex.FEMALE)
        )
        assert site.id is not None
        assert patient.id is not None
        assert users[Role.MEDICAL_ASSISTANT].id is not None
        order, _ = build.order(
            patient.id,
            placer=PLACER,
            provider="Dr Test",
            priority=Priority.ROUTINE,
            source=OrderSource.MANUAL,
            ordered_at=now - timedelta(hours=3),
            created_at=now,
            requisition="RQ1",
        )
        specimens: dict[str, int] = {}
        tests: dict[str, int] = {}
        for accession, container, codes in TUBES:
            specimen = build.specimen(
                patient.id,
                container,
                site_id=site.id,
                collected_by_id=users[Role.MEDICAL_ASSISTANT].id,
                collected_at=now - timedelta(hours=2),
                status=SpecimenStatus.RECEIVED,
                accession=accession,
                created_at=now,
                volume_ml=4.0,
            )
            assert specimen.id is not None
            specimens[accession] = specimen.id
            received = build.add_tests(
                order, codes, status=TestStatus.RECEIVED, specimen=specimen, changed_at=now
            )
            tests.update({ot.test_code: ot.id for ot in received if ot.id is not None})
        uow.commit()
        signed = {role: build.actor(user) for role, user in users.items()}
        assert order.id is not None
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
