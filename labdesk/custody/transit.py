"""In-transit timers: specimens on the road longer than their route allows, or past stability."""

from __future__ import annotations

from labdesk.custody import views
from labdesk.custody.dto import TransitFlagRow
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.scan_rules import stability_deadline, stability_limit
from labdesk.domain.specimen import SpecimenStatus
from labdesk.domain.transit import transit_flags
from labdesk.ports import UnitOfWork

IN_TRANSIT = (SpecimenStatus.IN_TRANSIT, SpecimenStatus.DELIVERED)


def in_transit_flags(
    uow: UnitOfWork, clock: Clock, *, flagged_only: bool = True
) -> list[TransitFlagRow]:
    """Specimens picked up but not yet received, with their overdue and stability flags.

    A specimen is overdue when it has been on the road longer than its manifest's route
    expects (the default transit time without a route), and flagged beyond stability when
    its catalog stability since collection has run out. No patient data is returned, so
    courier screens may show the list.

    Args:
        uow: an entered unit of work.
        clock: the injected clock.
        flagged_only: leave out specimens with no flag.
    """
    now = clock.now()
    site_ids = [site.id for site in uow.people.sites() if site.id is not None]
    specimens = uow.custody_scan.in_statuses(site_ids, IN_TRANSIT)
    ids = [s.id for s in specimens if s.id is not None]
    pickups = uow.custody_scan.latest_of_kind(ids, CustodyEventKind.PICKED_UP)
    manifests = uow.manifests.picked_up_items(ids)
    tests = uow.custody_scan.tests_for(ids)
    rows = []
    for specimen in specimens:
        assert specimen.id is not None
        picked = pickups.get(specimen.id)
        if picked is None:
            continue
        manifest = manifests.get(specimen.id)
        minutes = views.transit_minutes(uow, manifest)
        deadline = stability_deadline(
            specimen.collected_at,
            stability_limit(tests.get(specimen.id, []), specimen.temperature_class),
        )
        flags = transit_flags(
            now=now, picked_up_at=picked[0], transit_minutes=minutes, stability_deadline=deadline
        )
        if flagged_only and not flags:
            continue
        rows.append(
            TransitFlagRow(
                specimen_id=specimen.id,
                accession=specimen.accession,
                container_code=specimen.container_code,
                temperature_class=specimen.temperature_class,
                site_code=views.site_code(uow, specimen.site_id),
                manifest_number=manifest.number if manifest else "",
                picked_up_at=picked[0],
                picked_up_by=picked[1],
                expected_minutes=minutes,
                stability_deadline=deadline,
                flags=flags,
            )
        )
    return rows
