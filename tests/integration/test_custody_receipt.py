"""Lab receipt on SQLite and PostgreSQL: reconciliation, rejection, recollection, resume."""

from __future__ import annotations

import pytest
from custody_world import World

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.dto import Reconciliation, ScanFeedback
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import (
    close_receipt,
    open_receipt,
    receive_scan,
    reconciliation,
    reject_specimen,
)
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import CustodyError, PermissionDenied, ValidationError
from labdesk.domain.manifest import ManifestStatus, ReceiptOutcome
from labdesk.domain.order import TestStatus as OrderedTestState
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.scan_rules import ScanCode
from labdesk.domain.specimen import SpecimenStatus as S
from labdesk.station.recollection import cancel_recollection
from labdesk.station.recollection_tasks import open_recollection_tasks

PASSWORD = "courier secret phrase"


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    return World.build(uow_factory, clock)


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


def open_it(world: World, number: str) -> Reconciliation:
    with world.uow() as uow:
        return open_receipt(uow, world.clock, world.users["lena"], number)


def receive(world: World, number: str, text: str, *, damaged: bool = False) -> ScanFeedback:
    with world.uow() as uow:
        return receive_scan(uow, world.clock, world.users["lena"], number, text, damaged=damaged)


def test_receipt_reconciles_expected_against_received(world: World) -> None:
    number, (good, broken, absent) = shipped(world, 3)
    stray_number, (stray,) = shipped(world, 1)
    never_shipped = world.specimen()

    opened = open_it(world, number)
    results = {
        "good": receive(world, number, good),
        "again": receive(world, number, good),
        "broken": receive(world, number, broken, damaged=True),
        "stray": receive(world, number, stray),
        "never": receive(world, number, never_shipped),
    }

    assert opened.message.endswith("3 specimen(s) expected.")
    assert results["good"].code is ScanCode.RECEIVED
    assert results["again"].code is ScanCode.ALREADY_RECEIVED
    assert "Lena Brandt" in results["again"].message
    assert results["broken"].code is ScanCode.RECEIVED_DAMAGED
    assert results["stray"].code is ScanCode.RECEIVED_UNEXPECTED
    assert stray_number in results["stray"].message
    assert results["never"].code is ScanCode.NOT_SHIPPED
    assert world.kinds(good).count(K.RECEIVED) == 1
    assert world.status(never_shipped) is S.VERIFIED
    with world.uow() as uow:
        view = reconciliation(uow, world.users["lena"], number)
        specimen = uow.specimens.by_accession(good)
        assert specimen is not None
        assert {t.status for t in uow.orders.tests_for_specimen(specimen.id or 0)} == {
            OrderedTestState.RECEIVED
        }
    assert [r.accession for r in view.received] == [good]
    assert [r.accession for r in view.damaged] == [broken]
    assert [r.accession for r in view.missing] == [absent]
    assert sorted(r.accession for r in view.unexpected) == sorted([stray, never_shipped])


def test_manifest_scanned_twice_resumes(world: World) -> None:
    number, (first, _second) = shipped(world, 2)
    open_it(world, number)
    receive(world, number, first)

    again = open_it(world, number)

    assert again.resumed
    assert "resuming (1 of 2 scanned)" in again.message
    assert again.status is ManifestStatus.RECEIVING


def test_open_refuses_non_manifests_and_open_pickups(world: World) -> None:
    accession = world.specimen()
    with world.uow() as uow:
        number = start_pickup(uow, world.clock, world.users["chris"], "CLINIC").number
    with pytest.raises(ValidationError, match="not a manifest barcode"):
        open_it(world, accession)
    with pytest.raises(CustodyError, match="still open"):
        open_it(world, number)


def test_rejection_opens_one_recollection_task(world: World) -> None:
    number, (accession,) = shipped(world, 1)
    open_it(world, number)
    receive(world, number, accession)
    lab = world.users["lena"]

    with world.uow() as uow:
        first = reject_specimen(
            uow, world.clock, lab, accession, RejectionReason.HAEMOLYSED, note="pink serum"
        )
    with world.uow() as uow:
        again = reject_specimen(uow, world.clock, lab, accession, RejectionReason.CLOTTED)
    with world.uow() as uow:
        tasks = open_recollection_tasks(uow)
        view = reconciliation(uow, lab, number)

    assert not first.already
    assert again.already
    assert "Haemolysed" in again.message
    assert again.task_id == first.task_id
    assert world.kinds(accession)[-2:] == [K.REJECTED, K.RECOLLECTION_REQUESTED]
    assert world.status(accession) is S.REJECTED
    (task,) = tasks
    assert (task.accession, task.reason, task.note) == (accession, "haemolysed", "pink serum")
    assert task.site_code == "CLINIC"
    assert [r.lab_outcome for r in view.rows] == [ReceiptOutcome.REJECTED]

    with world.uow() as uow:
        cancel_recollection(uow, world.clock, world.users["sam"], task.task_id, "not needed")
    with world.uow() as uow:
        assert open_recollection_tasks(uow) == []


def test_reject_refuses_specimens_still_at_the_clinic(world: World) -> None:
    accession = world.specimen()
    with world.uow() as uow, pytest.raises(CustodyError) as info:
        reject_specimen(uow, world.clock, world.users["lena"], accession, RejectionReason.QNS)
    assert "verified" in info.value.message
    assert "on its way" in info.value.hint


def test_close_needs_missing_confirmed_and_then_reports_them_lost(world: World) -> None:
    number, (came, missing) = shipped(world, 2)
    open_it(world, number)
    receive(world, number, came)
    lab = world.users["lena"]

    with world.uow() as uow, pytest.raises(CustodyError, match=missing):
        close_receipt(uow, world.clock, lab, number)
    with world.uow() as uow:
        closed = close_receipt(uow, world.clock, lab, number, report_missing_lost=True)
    with world.uow() as uow:
        twice = close_receipt(uow, world.clock, lab, number)
        tasks = open_recollection_tasks(uow, site_code="CLINIC")

    assert closed.status is ManifestStatus.RECEIVED
    assert twice.status is ManifestStatus.RECEIVED
    assert world.status(missing) is S.LOST
    assert [t.accession for t in tasks] == [missing]
    assert tasks[0].reason_label == "Lost: not in the bag at receipt"
    with pytest.raises(CustodyError, match="received"):
        receive(world, number, came)
    reopened = open_it(world, number)
    assert reopened.resumed
    assert "closed by Lena Brandt" in reopened.message


def test_couriers_cannot_receive_or_reject(world: World) -> None:
    number, (accession,) = shipped(world, 1)
    with world.uow() as uow, pytest.raises(PermissionDenied):
        open_receipt(uow, world.clock, world.users["chris"], number)
    with world.uow() as uow, pytest.raises(PermissionDenied):
        reject_specimen(uow, world.clock, world.users["chris"], accession, RejectionReason.QNS)
