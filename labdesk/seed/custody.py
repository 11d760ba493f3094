"""Demo custody data: the clinic-to-lab route and a manifest on the road.

Called at the end of :func:`labdesk.seed.demo.seed_demo`, after the demo specimens have
walked their custody events, so the courier and lab pages have something to show.
"""

from __future__ import annotations

from dataclasses import replace

from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import NotFound
from labdesk.domain.manifest import Manifest, ManifestItem, ManifestStatus, make_manifest_number
from labdesk.domain.specimen import SpecimenStatus
from labdesk.ports import UnitOfWork
from labdesk.seed.builder import ClinicBuilder
from labdesk.seed.reference import DEMO_CLINIC

_ROUTE = DEMO_CLINIC.routes[0]
DEMO_ROUTE = _ROUTE.code
DEMO_TRANSIT_MINUTES = _ROUTE.transit_minutes


def ensure_demo_route(uow: UnitOfWork, clock: Clock, clinic_code: str, lab_code: str) -> int | None:
    """The clinic-to-lab route (90 min), created when missing; its id (None: no such sites)."""
    try:
        route = ClinicBuilder(uow, clock).route(
            replace(_ROUTE, from_site=clinic_code, to_site=lab_code)
        )
    except NotFound:
        return None
    return route.id


def seed_custody_demo(
    uow: UnitOfWork, clock: Clock, users: dict[str, int], clinic_code: str, lab_code: str
) -> None:
    """The route, and a finished manifest carrying the demo specimens in transit."""
    route_id = ensure_demo_route(uow, clock, clinic_code, lab_code)
    clinic = uow.people.site_by_code(clinic_code)
    if clinic is None or clinic.id is None:
        return
    travelling = uow.custody_scan.at_site(clinic.id, (SpecimenStatus.IN_TRANSIT,), 500)
    pickups = uow.custody_scan.latest_of_kind(
        [s.id for s in travelling if s.id is not None], CustodyEventKind.PICKED_UP
    )
    if travelling and "courier" in users:
        # Each tube is scanned onto the manifest as the courier picks it up, and the pickup
        # is finished after the last scan: started <= every scan <= finished <= now.
        scans = [at for at, _ in pickups.values()] or [clock.now()]
        started, finished = min(scans), max(scans)
        serial = uow.counters.next_value(f"manifest-{started.year}")
        manifest = Manifest(
            number=make_manifest_number(started.year, serial),
            site_id=clinic.id,
            courier_id=users["courier"],
            route_id=route_id,
            started_at=started,
            finished_at=finished,
            status=ManifestStatus.IN_TRANSIT,
            station_code="VAN-1",
        )
        uow.manifests.add(manifest)
        uow.manifests.flush()
        assert manifest.id is not None
        for specimen in travelling:
            assert specimen.id is not None
            at = pickups.get(specimen.id, (started, ""))[0]
            uow.manifests.add(
                ManifestItem(
                    manifest_id=manifest.id,
                    specimen_id=specimen.id,
                    temperature_class=specimen.temperature_class,
                    scanned_at=at,
                    scanned_by_id=users["courier"],
                )
            )
    uow.manifests.flush()
