"""A small synthetic clinic for spooler tests: one patient, specimens, users and a station."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta

import zxingcpp
from PIL import Image

from labdesk.domain.clock import Clock
from labdesk.domain.order import OrderSource, Priority, TestStatus
from labdesk.domain.patient import Sex
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UowFactory
from labdesk.printing.dto import PrintSetup
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import SiteSpec, StaffSpec, StationSpec
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
    """One patient with one order and a collected specimen per container.

    The tubes are placed as collected without custody events (the spooler reads the
    specimens, their tests and the station; nothing here walks the chain).
    """
    now = clock.now()
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        build.catalog()
        site = build.site(SiteSpec("CLINIC-T", "Test clinic", timezone=SITE_TZ))
        build.station(
            StationSpec(STATION, "Chair T", "CLINIC-T", label_printer_uri=station_printer)
        )
        users = {role: build.actor(build.user(_staff(role))) for role in Role}
        patient = build.patient(
            SyntheticPerson.named(mrn, family_name, "Siobhán", date(1984, 3, 5), Sex.FEMALE)
        )
        assert site.id is not None
        assert patient.id is not None
        order, _ = build.order(
            patient.id,
            placer="ORD-T-1",
            provider="Dr. Test",
            priority=Priority.STAT if stat else Priority.ROUTINE,
            source=OrderSource.MANUAL,
            ordered_at=now - timedelta(hours=1),
        )
        accessions = []
        for container in containers:
            specimen = build.specimen(
                patient.id,
                container,
                site_id=site.id,
                collected_by_id=users[Role.MEDICAL_ASSISTANT].id,
                collected_at=now - timedelta(minutes=10),
                created_at=now,
            )
            build.add_tests(
                order,
                PANELS.get(container, ("CBC",)),
                status=TestStatus.COLLECTED,
                specimen=specimen,
            )
            accessions.append(specimen.accession)
        uow.commit()
    return World(patient_id=patient.id, accessions=accessions, users=users)


def _staff(role: Role) -> StaffSpec:
    """One user per role, named after it (nobody signs in as them)."""
    name = role.value.replace("_", " ").title()
    return StaffSpec(role.value, name, role, "".join(word[0] for word in name.split()))


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
