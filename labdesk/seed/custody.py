"""Demo custody data: the clinic-to-lab route and a manifest on the road.

Called at the end of :func:`labdesk.seed.demo.seed_demo`, after the demo specimens have
walked their custody events, so the courier and lab pages have something to show.
"""

from __future__ import annotations

from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.manifest import (
    Manifest,
    ManifestItem,
    ManifestStatus,
    Route,
    make_manifest_number,
)
from labdesk.domain.specimen import SpecimenStatus
from labdesk.ports import UnitOfWork

DEMO_ROUTE = "CLINIC-LAB"
DEMO_TRANSIT_MINUTES = 90


def ensure_demo_route(uow: UnitOfWork, clinic_code: str, lab_code: str) -> int | None:
    """The clinic-to-lab route (90 min), created when missing; its id."""
    existing = uow.routes.by_code(DEMO_ROUTE)
    if existing is not None:
        return existing.id
    clinic, lab = uow.people.site_by_code(clinic_code), uow.people.site_by_code(lab_code)
    if clinic is None or lab is None or clinic.id is None or lab.id is None:
        return None
    route = Route(
        code=DEMO_ROUTE,
        name=f"{clinic.name} to {lab.name}",
        from_site_id=clinic.id,
        to_site_id=lab.id,
        transit_minutes=DEMO_TRANSIT_MINUTES,
    )
    uow.routes.add(route)
    uow.routes.flush()
    return route.id


def seed_custody_demo(
    uow: UnitOfWork, clock: Clock, users: dict[str, int], clinic_code: str, lab_code: str
) -> None:
    """The route, and a finished manifest carrying the demo specimens in transit."""
    route_id = ensure_demo_route(uow, clinic_code, lab_code)
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
