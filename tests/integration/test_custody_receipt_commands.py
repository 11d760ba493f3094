"""Lab receipt through the bus, on SQLite and PostgreSQL: each command done once per key."""

from __future__ import annotations

import pytest
from custody_world import World

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.commands import CloseReceipt, OpenReceipt, ReceiveScan, RejectSpecimen
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import reconciliation
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import CustodyError
from labdesk.domain.manifest import ManifestStatus
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.scan_rules import ScanCode
from labdesk.domain.specimen import SpecimenStatus as S
from labdesk.kernel.messagebus import AlreadyHandled, MessageBus
from labdesk.station.recollection_tasks import open_recollection_tasks

PASSWORD = "courier secret phrase"


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    return World.build(uow_factory, clock)


@pytest.fixture
def bus(world: World) -> MessageBus:
    return MessageBus(world.uow, world.clock)


def shipped(world: World, count: int) -> tuple[str, list[str]]:
    """A finished manifest carrying ``count`` new specimens: (number, accessions)."""
    accessions = [world.specimen() for _ in range(count)]
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, world.clock, courier, "CLINIC").number
    for accession in accessions:
        with world.uow() as uow:
            scan_for_pickup(uow, world.clock, courier, number, accession)
    with world.uow() as uow:
        finish_pickup(uow, world.clock, courier, number, PASSWORD, leave_behind=True)
    return number, accessions


def test_a_receipt_sent_as_commands_is_recorded_once(world: World, bus: MessageBus) -> None:
    lena = world.users["lena"]
    number, (good, bad, absent) = shipped(world, 3)

    opened = bus.handle(OpenReceipt(scanned=number), lena)
    scan = ReceiveScan(manifest_number=number, scanned=good)
    received = bus.handle(scan, lena)
    with pytest.raises(AlreadyHandled):
        bus.handle(scan, lena)  # a retry after a lost answer: not scanned twice
    rejection = RejectSpecimen(accession=bad, reason=RejectionReason.CLOTTED, note="clot")
    rejected = bus.handle(rejection, lena)
    with pytest.raises(AlreadyHandled):
        bus.handle(rejection, lena)

    assert opened.status is ManifestStatus.RECEIVING
    assert received.code is ScanCode.RECEIVED
    assert world.kinds(good).count(K.RECEIVED) == 1
    assert not rejected.already
    assert world.status(bad) is S.REJECTED

    view = bus.query(reconciliation, lena, number)
    with pytest.raises(CustodyError, match="not scanned"):
        bus.handle(CloseReceipt(manifest_number=number), lena)
    missing = frozenset(r.specimen_id for r in view.missing)
    closed = bus.handle(CloseReceipt(manifest_number=number, confirmed_missing=missing), lena)

    assert closed.status is ManifestStatus.RECEIVED
    assert closed.reported_lost == (absent,)
    with world.uow() as uow:
        assert {t.accession for t in open_recollection_tasks(uow)} == {bad, absent}


def test_a_close_confirmed_for_another_missing_list_is_refused(
    world: World, bus: MessageBus
) -> None:
    lena = world.users["lena"]
    number, (late, absent) = shipped(world, 2)
    bus.handle(OpenReceipt(scanned=number), lena)
    asked = frozenset(r.specimen_id for r in bus.query(reconciliation, lena, number).missing)
    bus.handle(ReceiveScan(manifest_number=number, scanned=late), lena)  # meanwhile

    close = CloseReceipt(manifest_number=number, confirmed_missing=asked)
    with pytest.raises(CustodyError, match="changed since you confirmed"):
        bus.handle(close, lena)

    assert bus.query(reconciliation, lena, number).status is ManifestStatus.RECEIVING
    assert world.status(absent) is not S.LOST
