"""A small synthetic clinic for spooler tests: one patient, specimens, users and a station."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import zxingcpp
from PIL import Image

from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain.clock import Clock
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority, TestStatus
from labdesk.domain.patient import Patient, Sex
from labdesk.domain.people import Role, Site, Station, User
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork, UowFactory
from labdesk.printing.dto import PrintSetup
from labdesk.station.accession import issue_accession
from printers.spool_adapter import LabelRendererAdapter, open_spool_printer

STATION = "STATION-T"
SITE_TZ = "America/Chicago"
# Tests per container type: SST carries a chemistry panel, LAV a CBC.
PANELS = {"SST": ("CMP", "LIPID"), "LAV": ("CBC",)}


@dataclass
class World:
    """What ``build_world`` created."""

    patient_id: int
    accessions: list[str]
    users: dict[Role, SignedInUser] = field(default_factory=dict)
    station_code: str = STATION

    @property
    def ma(self) -> SignedInUser:
        """The medical assistant who collected the specimens."""
        return self.users[Role.MEDICAL_ASSISTANT]

    @property
    def admin(self) -> SignedInUser:
        """An administrator."""
        return self.users[Role.ADMIN]


def build_world(
    uows: UowFactory,
    clock: Clock,
    *,
    containers: tuple[str, ...] = ("SST", "LAV"),
    stat: bool = False,
    station_printer: str = "",
    family_name: str = "O'Brien",
    mrn: str = "M0000042",
) -> World:
    """One patient with one order and a collected specimen per container."""
    now = clock.now()
    with uows() as uow:
        ensure_shipped_catalog(uow)
        site = Site(code="CLINIC-T", name="Test clinic", timezone=SITE_TZ)
        uow.people.add(site)
        uow.people.flush()
        assert site.id is not None
        uow.people.add(
            Station(
                code=STATION, name="Chair T", site_id=site.id, label_printer_uri=station_printer
            )
        )
        users = {role: _user(uow, role, now) for role in Role}
        patient = Patient(
            mrn=mrn,
            family_name=family_name,
            given_name="Siobhán",
            birth_date=date(1984, 3, 5),
            sex=Sex.FEMALE,
            created_at=now,
        )
        uow.patients.add(patient)
        uow.patients.flush()
        assert patient.id is not None
        order = Order(
            placer_order_number="ORD-T-1",
            patient_id=patient.id,
            ordering_provider="Dr. Test",
            priority=Priority.STAT if stat else Priority.ROUTINE,
            source=OrderSource.MANUAL,
            ordered_at=now - timedelta(hours=1),
            created_at=now - timedelta(hours=1),
        )
        uow.orders.add(order)
        uow.orders.flush()
        assert order.id is not None
        accessions = []
        for container in containers:
            specimen = Specimen(
                accession=issue_accession(uow, clock),
                patient_id=patient.id,
                container_code=container,
                site_id=site.id,
                status=SpecimenStatus.COLLECTED,
                collected_at=now - timedelta(minutes=10),
                collected_by_id=users[Role.MEDICAL_ASSISTANT].id,
                created_at=now,
            )
            uow.specimens.add(specimen)
            uow.specimens.flush()
            for code in PANELS.get(container, ("CBC",)):
                uow.orders.add_test(
                    OrderedTest(
                        order_id=order.id,
                        test_code=code,
                        status=TestStatus.COLLECTED,
                        specimen_id=specimen.id,
                    )
                )
            accessions.append(specimen.accession)
        uow.commit()
    return World(patient_id=patient.id, accessions=accessions, users=users)


def _user(uow: UnitOfWork, role: Role, now: datetime) -> SignedInUser:
    name = role.value.replace("_", " ").title()
    initials = "".join(word[0] for word in name.split())
    user = User(
        username=role.value,
        display_name=name,
        role=role,
        password_hash="not-a-real-hash",
        created_at=now,
        initials=initials,
    )
    uow.people.add(user)
    uow.people.flush()
    assert user.id is not None
    return SignedInUser(
        id=user.id, username=user.username, display_name=name, role=role, initials=initials
    )


def make_setup(**changes: object) -> PrintSetup:
    """The setup a station builds from its config, with real printers and renderer."""
    fields: dict[str, object] = {
        "station_code": STATION,
        "opener": open_spool_printer,
        "renderer": LabelRendererAdapter(),
    }
    fields.update(changes)
    return PrintSetup(**fields)  # type: ignore[arg-type]


def decode_png(png: bytes | None) -> list[str]:
    """Every Code 128 symbol zxing-cpp finds on a PNG."""
    assert png is not None
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
