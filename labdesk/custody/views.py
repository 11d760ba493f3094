"""Building the custody DTOs (manifest views, rows, routes) shared by pickup and receipt."""

from __future__ import annotations

from labdesk.custody.dto import ManifestRow, ManifestView, ReadySpecimen, RouteInfo
from labdesk.custody.stability import stability_caveats
from labdesk.domain.manifest import Manifest, ManifestItem, Route
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.domain.transit import DEFAULT_TRANSIT_MINUTES
from labdesk.ports import UnitOfWork

READY_FOR_PICKUP = (SpecimenStatus.VERIFIED, SpecimenStatus.PACKED)
LEFT_TRANSIT = frozenset({SpecimenStatus.RECEIVED, SpecimenStatus.REJECTED})
"""Statuses of a specimen the lab has scanned in (or rejected) on some manifest."""
READY_LIMIT = 500


def site_code(uow: UnitOfWork, site_id: int) -> str:
    """Code of a site (identity-mapped: one query per unit of work)."""
    site = uow.people.site(site_id)
    return site.code if site is not None else "?"


def site_tz(uow: UnitOfWork, site_id: int) -> str:
    """IANA time zone of a site."""
    site = uow.people.site(site_id)
    return site.timezone if site is not None else "UTC"


def route_info(uow: UnitOfWork, route: Route) -> RouteInfo:
    """A route as a screen shows it."""
    return RouteInfo(
        code=route.code,
        name=route.name,
        from_site=site_code(uow, route.from_site_id),
        to_site=site_code(uow, route.to_site_id),
        transit_minutes=route.transit_minutes,
    )


def transit_minutes(uow: UnitOfWork, manifest: Manifest | None) -> int:
    """Expected transit time of a manifest's route (the default without one)."""
    if manifest is not None and manifest.route_id is not None:
        route = uow.routes.get(manifest.route_id)
        if route is not None:
            return route.transit_minutes
    return DEFAULT_TRANSIT_MINUTES


def row_of(
    item: ManifestItem,
    specimen: Specimen,
    site: str,
    *,
    warning: str = "",
    received_on: str = "",
) -> ManifestRow:
    """One manifest line."""
    assert specimen.id is not None
    return ManifestRow(
        specimen_id=specimen.id,
        accession=specimen.accession,
        container_code=specimen.container_code,
        temperature_class=item.temperature_class,
        site_code=site,
        bag_id=item.bag_id,
        scanned_at=item.scanned_at,
        status=specimen.status,
        expected=item.expected,
        lab_outcome=item.lab_outcome,
        warning=warning,
        received_on=received_on,
    )


def manifest_rows(
    uow: UnitOfWork, manifest: Manifest, *, caveats: bool = False
) -> tuple[ManifestRow, ...]:
    """Every line of a manifest in scan order, as the specimens' custody stands now.

    Args:
        uow: an entered unit of work.
        manifest: the manifest.
        caveats: put each received specimen's stability caveat in its row's warning (the
            lab's reconciliation; the courier's rows carry pickup warnings only).
    """
    manifest_id = manifest.id or 0
    lines = uow.manifests.items_with_specimens(manifest_id)
    left = [s.id for _item, s in lines if s.id is not None and s.status in LEFT_TRANSIT]
    # A line not scanned on this manifest whose specimen has left transit was scanned in on
    # another manifest: the row says which, instead of reading "expected" (issue 11 item 5).
    unscanned = {s.id for item, s in lines if item.lab_outcome is None}
    elsewhere = uow.manifests.lab_scans_elsewhere([i for i in left if i in unscanned], manifest_id)
    warnings = stability_caveats(uow, left) if caveats else {}
    return tuple(
        row_of(
            item,
            specimen,
            site_code(uow, specimen.site_id),
            warning=warnings.get(specimen.id or 0, ""),
            received_on=elsewhere.get(specimen.id or 0, ""),
        )
        for item, specimen in lines
    )


def ready_specimens(
    uow: UnitOfWork, site_id: int, *, exclude: frozenset[int] = frozenset()
) -> list[ReadySpecimen]:
    """Verified or packed specimens waiting at a site (oldest first), with their bags."""
    found = [
        s
        for s in uow.custody_scan.at_site(site_id, READY_FOR_PICKUP, READY_LIMIT)
        if s.id not in exclude
    ]
    bags = uow.custody_scan.packed_bags(
        [s.id for s in found if s.id is not None and s.status is SpecimenStatus.PACKED]
    )
    return [
        ReadySpecimen(
            specimen_id=s.id or 0,
            accession=s.accession,
            container_code=s.container_code,
            temperature_class=s.temperature_class,
            status=s.status,
            collected_at=s.collected_at,
            bag_id=bags.get(s.id or 0, ""),
        )
        for s in found
    ]


def manifest_view(uow: UnitOfWork, manifest: Manifest, *, include_ready: bool) -> ManifestView:
    """A manifest with its lines (and what still waits at its site)."""
    site = uow.people.site(manifest.site_id)
    courier = uow.people.user(manifest.courier_id)
    route = uow.routes.get(manifest.route_id) if manifest.route_id is not None else None
    rows = manifest_rows(uow, manifest)
    ready: tuple[ReadySpecimen, ...] = ()
    if include_ready:
        on_manifest = frozenset(r.specimen_id for r in rows)
        ready = tuple(ready_specimens(uow, manifest.site_id, exclude=on_manifest))
    return ManifestView(
        number=manifest.number,
        status=manifest.status,
        site_code=site.code if site else "?",
        site_name=site.name if site else "?",
        courier=courier.display_name if courier else "?",
        route=route_info(uow, route) if route is not None else None,
        started_at=manifest.started_at,
        finished_at=manifest.finished_at,
        rows=rows,
        not_scanned=ready,
    )
