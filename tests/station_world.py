"""A small synthetic clinic for phlebotomy station tests: a station, users, patients, orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from labdesk.domain.clock import Clock
from labdesk.domain.order import OrderSource, Priority
from labdesk.domain.patient import Sex
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import MessageBus
from labdesk.ports import UowFactory
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.names import SyntheticPerson
from labdesk.seed.reference import DEMO_PROVIDER, SiteSpec, StaffSpec, StationSpec

STATION = "DRAW-2"
SITE = "CLINIC-S"
SITE_TZ = "America/New_York"

PATIENTS = {
    "ana": ("M200001", "Okafor", "Ana", date(1984, 3, 5), "WB-M200001"),
    "ben": ("M200002", "Novak", "Ben", date(1972, 11, 20), "WB-M200002"),
    "cai": ("M200003", "Lee", "Cai", date(1990, 1, 2), "WB-M200003"),
}


@dataclass
class StationWorld:
    """What :func:`build_station_world` created."""

    station_code: str
    site_id: int
    users: dict[Role, SignedInUser] = field(default_factory=dict)
    patients: dict[str, int] = field(default_factory=dict)

    @property
    def ma(self) -> SignedInUser:
        """The medical assistant at the chair."""
        return self.users[Role.MEDICAL_ASSISTANT]

    @property
    def courier(self) -> SignedInUser:
        """A courier (may not collect)."""
        return self.users[Role.COURIER]


def _staff(role: Role) -> StaffSpec:
    """One station test user per role (nobody signs in as them)."""
    return StaffSpec(f"st-{role.value}", f"Station {role.label}", role, role.value[:2].upper())


def build_station_world(
    uows: UowFactory, clock: Clock, *, label_printer_uri: str = ""
) -> StationWorld:
    """Catalog, a clinic site with station ``DRAW-2``, one user per role and three patients."""
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        build.catalog()
        site = build.site(SiteSpec(SITE, "Station test clinic", timezone=SITE_TZ))
        build.station(StationSpec(STATION, "Chair 2", SITE, label_printer_uri=label_printer_uri))
        assert site.id is not None
        world = StationWorld(station_code=STATION, site_id=site.id)
        world.users = {role: build.actor(build.user(_staff(role))) for role in Role}
        for key, (mrn, family, given, born, band) in PATIENTS.items():
            patient = build.patient(
                SyntheticPerson.named(mrn, family, given, born, Sex.UNKNOWN), wristband=band
            )
            assert patient.id is not None
            world.patients[key] = patient.id
        uow.commit()
    return world


def add_order(
    uows: UowFactory,
    clock: Clock,
    patient_id: int,
    codes: tuple[str, ...],
    *,
    priority: Priority = Priority.ROUTINE,
    minutes_ago: int = 30,
    number: str | None = None,
) -> list[int]:
    """An EHR-style order for ``codes``; returns the ordered test ids."""
    at = clock.now() - timedelta(minutes=minutes_ago)
    with uows() as uow:
        build = ClinicBuilder(uow, clock)
        placer = build.number("test-order", "EHR", 5)
        _, tests = build.order(
            patient_id,
            codes,
            placer=number or placer,
            provider=DEMO_PROVIDER,
            priority=priority,
            source=OrderSource.HL7,
            ordered_at=at,
        )
        ids = [ot.id for ot in tests if ot.id is not None]
        uow.commit()
    return ids


def draw_and_scan_back(
    bus: MessageBus, actor: SignedInUser, wristband: str, station_code: str = STATION
) -> list[str]:
    """The visit as the chair sends it: open by wristband, collect the whole plan with its
    nominal volumes, scan every tube back; returns the tubes' accessions."""
    from labdesk.station.commands import CollectSpecimens, OpenEncounterByWristband, ScanBack
    from labdesk.station.dto import ContainerCollection
    from labdesk.station.encounter import load_encounter

    eid = bus.handle(OpenEncounterByWristband(scanned=wristband, station_code=station_code), actor)
    view = bus.query(load_encounter, actor, eid)
    result = bus.handle(
        CollectSpecimens(
            encounter_id=eid,
            containers=tuple(
                ContainerCollection(
                    c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml
                )
                for c in view.plan.containers
            ),
        ),
        actor,
    )
    accessions = [s.accession for s in result.specimens]
    for accession in accessions:
        bus.handle(ScanBack(encounter_id=eid, scanned=accession), actor)
    return accessions
