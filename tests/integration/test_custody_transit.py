"""In-transit timers, the specimen timeline and the printed manifest, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from custody_world import PASSWORD, World

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.custody.manifest_print import manifest_document, print_manifest
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.timeline import specimen_timeline
from labdesk.custody.transit import in_transit_flags
from labdesk.custody.verify import verify_chains
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import CustodyError
from labdesk.domain.manifest import ManifestDocument, ManifestStatus
from labdesk.domain.specimen import SpecimenStatus
from labdesk.domain.transit import TransitFlag
from labdesk.seed.demo import STATES, seed_demo


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    return World.build(uow_factory, clock)


class FakeManifestPrinter:
    """Records what it was asked to print."""

    def __init__(self) -> None:
        self.printed: list[ManifestDocument] = []

    def print_manifest(self, document: ManifestDocument) -> str:
        self.printed.append(document)
        return "pdf:///tmp/fake"


def picked_up(world: World, *accessions: str) -> str:
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, world.clock, courier, "CLINIC", station_code="VAN-1").number
    for accession in accessions:
        with world.uow() as uow:
            scan_for_pickup(uow, world.clock, courier, number, accession)
    return number


def test_overdue_and_beyond_stability_in_transit(world: World) -> None:
    fresh = world.specimen()
    old = world.specimen(collected_ago=timedelta(hours=70))
    number = picked_up(world, fresh, old)

    with world.uow() as uow:
        assert in_transit_flags(uow, world.clock) == []
        everything = in_transit_flags(uow, world.clock, flagged_only=False)
    assert {r.accession for r in everything} == {fresh, old}
    assert all(r.manifest_number == number and r.expected_minutes == 90 for r in everything)

    world.clock.advance(timedelta(minutes=91))
    with world.uow() as uow:
        flags = {r.accession: r.flags for r in in_transit_flags(uow, world.clock)}
    assert flags == {fresh: (TransitFlag.OVERDUE,), old: (TransitFlag.OVERDUE,)}

    world.clock.advance(timedelta(hours=1))
    with world.uow() as uow:
        flags = {r.accession: r.flags for r in in_transit_flags(uow, world.clock)}
    assert flags[old] == (TransitFlag.OVERDUE, TransitFlag.BEYOND_STABILITY)


def test_timeline_lists_every_event_verified(world: World) -> None:
    accession = world.specimen()
    picked_up(world, accession)
    with world.uow() as uow:
        timeline = specimen_timeline(uow, world.users["chris"], accession=accession)
    assert [e.kind for e in timeline.entries] == [K.COLLECTED, K.LABELLED, K.VERIFIED, K.PICKED_UP]
    assert timeline.verified
    pickup = timeline.entries[-1]
    assert pickup.actor == "Chris Okafor"
    assert pickup.location == "CLINIC courier pickup"
    assert pickup.note.startswith("Manifest ")
    assert timeline.site_code == "CLINIC"


def test_manifest_prints_after_finishing_and_is_audited(world: World) -> None:
    accessions = [world.specimen() for _ in range(2)]
    number = picked_up(world, *accessions)
    courier = world.users["chris"]
    printer = FakeManifestPrinter()
    with world.uow() as uow, pytest.raises(CustodyError, match="still open"):
        print_manifest(uow, world.clock, courier, number, printer)

    with world.uow() as uow:
        finish_pickup(uow, world.clock, courier, number, PASSWORD)
    with world.uow() as uow:
        where = print_manifest(uow, world.clock, courier, number, printer, station_code="VAN-1")
    with world.uow() as uow:
        document = manifest_document(uow, world.clock, world.users["lena"], number)
        prints = [
            (e.entity, e.entity_id)
            for e in uow.audit.all_in_order()
            if e.action is AuditAction.PRINT
        ]

    assert where == "pdf:///tmp/fake"
    (printed,) = printer.printed
    assert printed == document
    assert [line.accession for line in printed.lines] == accessions
    assert printed.courier == "Chris Okafor"
    assert printed.route == "CLINIC-LAB (90 min)"
    assert printed.started_at == "2026-03-02 09:00"  # New York time
    assert prints == [("manifest", number)]


def test_demo_seeds_a_route_a_manifest_on_the_road_and_intact_chains(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    with uow_factory() as uow:
        ensure_shipped_catalog(uow)
        seed_demo(uow, clock, patients=len(STATES), seed=2)
        uow.commit()
    with uow_factory() as uow:
        (route,) = uow.routes.all()
        (manifest,) = uow.manifests.manifests_in((ManifestStatus.IN_TRANSIT,))
        statuses = {s.status for _, s in uow.manifests.items_with_specimens(manifest.id or 0)}
        assert (route.code, route.transit_minutes) == ("CLINIC-LAB", 90)
        assert verify_chains(uow).ok
    assert statuses == {SpecimenStatus.IN_TRANSIT}
