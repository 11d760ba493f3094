"""Courier pickup on SQLite and PostgreSQL: scans, refusals, idempotency, finishing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from custody_world import PASSWORD, TRANSIT_MINUTES, World

from labdesk.access.credentials import hash_secret
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.dto import ManifestView, ScanFeedback
from labdesk.custody.events import pack_specimen, report_lost
from labdesk.custody.pickup import (
    deliver_manifest,
    finish_pickup,
    open_manifests,
    pickup_manifest,
    pickup_sites,
    scan_for_pickup,
    start_pickup,
)
from labdesk.custody.receipt import open_receipt, receive_scan, reject_specimen
from labdesk.domain.accession import make_accession
from labdesk.domain.audit import AuditAction
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import AuthenticationError, CustodyError, PermissionDenied
from labdesk.domain.loss import LossReason
from labdesk.domain.manifest import BagId, ManifestStatus, is_manifest_number, parse_bag_id
from labdesk.domain.order import TestStatus as OrderedTestState
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.scan_rules import ScanCode, Severity
from labdesk.domain.specimen import SpecimenStatus as S


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    return World.build(uow_factory, clock)


def start(world: World, courier: str = "chris", site: str = "CLINIC") -> ManifestView:
    with world.uow() as uow:
        return start_pickup(uow, world.clock, world.users[courier], site, station_code="VAN-1")


def scan(
    world: World, number: str, text: str, courier: str = "chris", bag: BagId | None = None
) -> ScanFeedback:
    with world.uow() as uow:
        return scan_for_pickup(uow, world.clock, world.users[courier], number, text, bag=bag)


def finish(world: World, number: str, secret: str = PASSWORD, **kw: bool) -> ManifestView:
    with world.uow() as uow:
        return finish_pickup(uow, world.clock, world.users["chris"], number, secret, **kw)


def test_start_opens_a_numeric_manifest_and_resumes_it(world: World) -> None:
    first = start(world)
    again = start(world)

    assert is_manifest_number(first.number)
    assert len(first.number) == 12
    assert again.number == first.number
    assert first.status is ManifestStatus.OPEN
    assert first.route is not None
    assert first.route.transit_minutes == TRANSIT_MINUTES
    assert start(world, "dana").number != first.number


def test_pickup_sites_list_clinics_with_their_routes(world: World) -> None:
    with world.uow() as uow:
        sites = pickup_sites(uow, world.users["chris"])
    assert [s.code for s in sites] == ["CLINIC", "CLINIC2"]
    assert [r.code for r in sites[0].routes] == ["CLINIC-LAB"]


def test_scan_picks_up_once_and_moves_tests(world: World) -> None:
    accession = world.specimen()
    number = start(world).number

    added = scan(world, number, f" {accession}\r\n")
    again = scan(world, number, accession)

    assert added.code is ScanCode.ADDED
    assert added.severity is Severity.OK
    assert added.rows[0].accession == accession
    assert again.code is ScanCode.ALREADY_ON_MANIFEST
    assert not again.recorded
    assert world.kinds(accession).count(K.PICKED_UP) == 1
    assert world.status(accession) is S.IN_TRANSIT
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        assert {t.status for t in uow.orders.tests_for_specimen(specimen.id or 0)} == {
            OrderedTestState.IN_TRANSIT
        }
        view = pickup_manifest(uow, world.users["chris"], number)
    assert [r.accession for r in view.rows] == [accession]
    assert view.counts() == {TemperatureClass.REFRIGERATED: 1}


def test_second_courier_is_told_who_picked_it_up_and_when(world: World) -> None:
    accession = world.specimen()
    scan(world, start(world).number, accession)
    world.clock.advance(timedelta(minutes=3))

    other = scan(world, start(world, "dana").number, accession, courier="dana")

    assert other.code is ScanCode.ALREADY_PICKED_UP
    assert other.severity is Severity.ERROR
    assert "Chris Okafor" in other.message
    assert "09:00" in other.message  # 14:00 UTC in the site's zone (New York)
    assert world.kinds(accession).count(K.PICKED_UP) == 1


def test_the_courier_who_has_it_is_told_you_not_his_own_name(world: World) -> None:
    accession = world.specimen()
    first = start(world).number
    scan(world, first, accession)
    finish(world, first, leave_behind=True)
    world.clock.advance(timedelta(minutes=3))

    mine = scan(world, start(world).number, accession)
    theirs = scan(world, start(world, "dana").number, accession, courier="dana")

    assert mine.code is ScanCode.ALREADY_PICKED_UP
    assert mine.message == (
        f"{accession} is already on your manifest {first}: you scanned it at 09:00."
    )
    assert "Chris Okafor" not in f"{mine.message} {mine.hint}"
    assert "Do not take it twice" in mine.hint
    assert "check with Chris Okafor" in theirs.hint
    assert world.kinds(accession).count(K.PICKED_UP) == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("abc", "not a specimen"),
        ("260000001", "9 digits"),
        ("2600000010", "check digit"),
        ("", "Empty scan"),
    ],
    ids=["letters", "short", "check-digit", "empty"],
)
def test_malformed_scans_are_refused_clearly(world: World, text: str, words: str) -> None:
    feedback = scan(world, start(world).number, text)
    assert feedback.code is ScanCode.MALFORMED
    assert words in feedback.message
    assert feedback.hint


def test_unknown_and_manifest_barcodes_are_refused(world: World) -> None:
    number = start(world).number
    unknown = scan(world, number, make_accession(2026, 999_999))
    itself = scan(world, number, number)
    assert unknown.code is ScanCode.UNKNOWN_ID
    assert "No specimen" in unknown.message
    assert itself.code is ScanCode.MALFORMED
    assert "manifest barcode" in itself.message


@pytest.mark.parametrize(
    ("status", "words"),
    [(S.COLLECTED, "not labelled"), (S.LABELLED, "not verified")],
    ids=["collected", "labelled"],
)
def test_specimens_not_ready_are_refused(world: World, status: S, words: str) -> None:
    accession = world.specimen(status)
    feedback = scan(world, start(world).number, accession)
    assert feedback.code is ScanCode.NOT_READY
    assert words in feedback.message
    assert world.status(accession) is status


def test_wrong_site_and_wrong_temperature_bag_are_refused(world: World) -> None:
    elsewhere = world.specimen(site="CLINIC2")
    cold = world.specimen(temperature=TemperatureClass.REFRIGERATED)
    number = start(world).number

    site = scan(world, number, elsewhere)
    ambient_bag = parse_bag_id("BAGA0007")
    temperature = scan(world, number, cold, bag=ambient_bag)
    fitting = scan(world, number, cold, bag=parse_bag_id("bagr0001"))

    assert site.code is ScanCode.WRONG_SITE
    assert "CLINIC2" in site.message
    assert temperature.code is ScanCode.WRONG_TEMPERATURE
    assert "BAGR" in temperature.hint
    assert fitting.code is ScanCode.ADDED
    assert fitting.rows[0].bag_id == "BAGR0001"


def test_rejected_lost_and_received_specimens_are_refused(world: World) -> None:
    lost, rejected, received = (world.specimen() for _ in range(3))
    number = start(world).number
    for accession in (rejected, received):
        scan(world, number, accession)
    finish(world, number, leave_behind=True)
    lab = world.users["lena"]
    with world.uow() as uow:
        open_receipt(uow, world.clock, lab, number)
    with world.uow() as uow:
        receive_scan(uow, world.clock, lab, number, received)
    with world.uow() as uow:
        reject_specimen(uow, world.clock, lab, rejected, RejectionReason.HAEMOLYSED)
    with world.uow() as uow:
        report_lost(
            uow,
            world.clock,
            world.users["maria"],
            lost,
            LossReason.DAMAGED_IN_TRANSIT,
            note="dropped",
            location="CLINIC",
        )

    second = start(world).number
    codes = {a: scan(world, second, a) for a in (lost, rejected, received)}

    assert codes[lost].code is ScanCode.LOST
    assert codes[rejected].code is ScanCode.REJECTED
    assert codes[received].code is ScanCode.AT_LAB
    assert "Lena Brandt" in codes[received].message
    assert all(f.severity is Severity.ERROR for f in codes.values())


@pytest.mark.parametrize(
    ("hours", "code"),
    [(1, ScanCode.ADDED), (71, ScanCode.AT_RISK), (73, ScanCode.BEYOND_STABILITY)],
    ids=["fresh", "at-risk", "beyond"],
)
def test_stability_against_the_route(world: World, hours: int, code: ScanCode) -> None:
    # CBC keeps 72 h refrigerated; the route takes 90 min.
    accession = world.specimen(collected_ago=timedelta(hours=hours))
    feedback = scan(world, start(world).number, accession)
    assert feedback.code is code
    assert feedback.recorded
    if code is not ScanCode.ADDED:
        assert feedback.severity is Severity.WARNING
        assert "CBC allows 72 h refrigerated" in feedback.message
        assert feedback.rows[0].warning


def test_bag_scan_picks_up_what_the_clinic_packed(world: World) -> None:
    packed = [world.specimen() for _ in range(2)]
    loose = world.specimen()
    with world.uow() as uow:
        for accession in packed:
            pack_specimen(
                uow, world.clock, world.users["maria"], accession, "BAGR0042", location="CLINIC"
            )
    number = start(world).number
    with world.uow() as uow:
        before = pickup_manifest(uow, world.users["chris"], number)
    assert {r.accession: r.bag_id for r in before.not_scanned} == {
        packed[0]: "BAGR0042",
        packed[1]: "BAGR0042",
        loose: "",
    }

    opened = scan(world, number, "BAGR0042")
    again = scan(world, number, "BAGR0042")

    assert opened.code is ScanCode.BAG_OPENED
    assert opened.bag == parse_bag_id("BAGR0042")
    assert sorted(r.accession for r in opened.rows) == sorted(packed)
    assert not again.rows
    assert "already on this manifest" in again.hint
    assert all(world.status(a) is S.IN_TRANSIT for a in packed)


def test_finish_lists_what_is_left_behind_then_needs_the_pin(world: World) -> None:
    taken, left = world.specimen(), world.specimen()
    number = start(world).number
    scan(world, number, taken)

    with pytest.raises(CustodyError) as missing:
        finish(world, number)
    assert left in missing.value.message
    with pytest.raises(AuthenticationError, match="Wrong PIN or password"):
        finish(world, number, "wrong guess", leave_behind=True)
    with world.uow() as uow:
        assert pickup_manifest(uow, world.users["chris"], number).status is ManifestStatus.OPEN

    done = finish(world, number, leave_behind=True)
    twice = finish(world, number, "anything")

    assert done.status is ManifestStatus.IN_TRANSIT
    assert done.finished_at is not None
    assert twice.status is ManifestStatus.IN_TRANSIT
    with pytest.raises(CustodyError, match="finished"):
        scan(world, number, left)
    with world.uow() as uow:
        assert [m.number for m in open_manifests(uow, world.users["chris"])] == [number]


def test_the_finish_pin_is_audited_on_the_manifest_never_as_an_unlock(world: World) -> None:
    taken = world.specimen()
    number = start(world).number
    scan(world, number, taken)
    chris = world.users["chris"]
    with world.uow() as uow:
        user = uow.people.user(chris.id)
        assert user is not None
        user.badge_id, user.pin_hash = "BADGE-7", hash_secret("4821")
        uow.commit()

    with pytest.raises(AuthenticationError, match="Wrong PIN or password"):
        finish(world, number, "0000")
    with world.uow() as uow:
        user = uow.people.user(chris.id)
        assert user is not None
        assert user.failed_attempts == 1  # still counts towards the lockout
    finish(world, number, "4821")

    with world.uow() as uow:
        entries = [(e.action, e.entity, e.outcome, e.detail) for e in uow.audit.all_in_order()]
        user_ids = {e.user_id for e in uow.audit.all_in_order() if e.entity == "manifest"}
    assert entries == [
        (AuditAction.UPDATE, "manifest", "wrong_password", "finish PIN wrong"),
        (AuditAction.UPDATE, "manifest", "success", "finish PIN accepted (badge PIN)"),
        (
            AuditAction.UPDATE,
            "manifest",
            "success",
            "finished: 1 specimen(s) picked up at CLINIC, 0 left behind",
        ),
    ]
    assert user_ids == {chris.id}
    with world.uow() as uow:
        assert {e.entity_id for e in uow.audit.all_in_order()} == {number}


def test_delivery_marks_specimens_delivered_once(world: World) -> None:
    accession = world.specimen()
    number = start(world).number
    scan(world, number, accession)
    finish(world, number)
    with world.uow() as uow:
        assert deliver_manifest(uow, world.clock, world.users["chris"], number) == 1
    with world.uow() as uow:
        assert deliver_manifest(uow, world.clock, world.users["chris"], number) == 0
    assert world.status(accession) is S.DELIVERED


def test_only_couriers_scan_and_only_their_own_manifest(world: World) -> None:
    accession = world.specimen()
    number = start(world).number
    with pytest.raises(PermissionDenied):
        scan(world, number, accession, courier="maria")
    with pytest.raises(CustodyError, match="another courier"):
        scan(world, number, accession, courier="dana")
    assert world.status(accession) is S.VERIFIED
