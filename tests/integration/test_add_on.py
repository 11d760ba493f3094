"""Issue 13 item 1: add-on tests on a specimen already drawn (SQLite and PostgreSQL).

Allowed: the test joins the specimen in its state, reserves its volume, is audited, and the
lab gets an OML^O21 with only the added test and an add-on note; the board counts its
turnaround from the original collection. Refused: every reason named, nothing saved. Two
people adding the same test at once: exactly one wins (PostgreSQL, two threads).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from custody_world import PASSWORD, World
from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import open_receipt, receive_scan, reject_specimen
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.specimen import SpecimenStatus
from labdesk.kernel.messagebus import MessageBus
from labdesk.results.board import load_board
from labdesk.station.add_on import (
    AddOnConflict,
    AddOnRefused,
    add_test_to_specimen,
    preview_add_on,
)
from labdesk.station.commands import AddTestToSpecimen

DR = "Dr. Sam Patel"


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    return World.build(uow_factory, clock)


def received(world: World, accession: str) -> None:
    """Ship the tube to the lab and scan it in."""
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, world.clock, courier, "CLINIC").number
    with world.uow() as uow:
        scan_for_pickup(uow, world.clock, courier, number, accession)
    with world.uow() as uow:
        finish_pickup(uow, world.clock, courier, number, PASSWORD, leave_behind=True)
    world.clock.advance(timedelta(minutes=40))
    with world.uow() as uow:
        open_receipt(uow, world.clock, world.users["lena"], number)
    with world.uow() as uow:
        receive_scan(uow, world.clock, world.users["lena"], number, accession)


def add(world: World, accession: str, code: str, who: str = "maria", **kw: object) -> object:
    with world.uow() as uow:
        result = add_test_to_specimen(
            uow, world.clock, world.users[who], accession, code, requested_by=DR, **kw
        )  # type: ignore[arg-type]
        uow.commit()
        return result


def carried(world: World, accession: str) -> dict[str, Status]:
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        return {t.test_code: t.status for t in uow.orders.tests_for_specimen(specimen.id or 0)}


def pending(world: World, code: str) -> int:
    now = world.clock.now()
    with world.uow() as uow:
        order = Order(
            placer_order_number=f"EHR{uow.counters.next_value('t'):06d}",
            patient_id=world.patient_id,
            ordering_provider=DR,
            priority=Priority.ROUTINE,
            source=OrderSource.HL7,
            ordered_at=now,
            created_at=now,
        )
        uow.orders.add(order)
        uow.orders.flush()
        ot = OrderedTest(order_id=order.id or 0, test_code=code, status_changed_at=now)
        uow.orders.add_test(ot)
        uow.commit()
        return ot.id or 0


def test_allowed_add_on_joins_the_specimen_with_audit_outbound_and_board(world: World) -> None:
    accession = world.specimen(tests=("CMP",), container="SST", collected_ago=timedelta(hours=1))
    received(world, accession)
    with world.uow() as uow:
        collected_at = uow.specimens.by_accession(accession).collected_at  # type: ignore[union-attr]
        preview = preview_add_on(uow, world.clock, world.users["sam"], accession, "TSH")
    assert preview.allowed
    assert preview.reasons == ()
    assert preview.left_ml == pytest.approx(4.5)  # 5 mL SST, CMP reserves 0.5
    assert preview.stable_until == collected_at + timedelta(hours=168)

    bus = MessageBus(world.uow, world.clock)
    command = AddTestToSpecimen(accession=accession, test_code="TSH", requested_by=DR)
    result = bus.handle(command, world.users["sam"])  # a clinician, from the results screen

    assert result.status is Status.RECEIVED  # the tube's state: it is at the lab already
    assert result.new_order
    assert carried(world, accession) == {"CMP": Status.RECEIVED, "TSH": Status.RECEIVED}
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        reserved = uow.add_ons.for_specimen(specimen.id or 0)
        tsh = reserved[result.ordered_test_id]
        audit = [e.detail for e in uow.audit.all_in_order() if e.entity == "specimen"]
        last = uow.custody.for_specimen(specimen.id or 0)[-1]
        custody = (last.kind, last.note, specimen.status)
        message = uow.hl7.outbound(result.outbound_id)
        assert message is not None
        kind, payload = message.message_type, message.payload
        order = uow.orders.get(result.order_id)
        provider = order.ordering_provider if order else ""
    assert (tsh.test_code, tsh.volume_ml, tsh.added_on, tsh.requested_by) == ("TSH", 0.2, True, DR)
    assert any(a.startswith(f"add-on: TSH (ordered test {result.ordered_test_id}") for a in audit)
    assert provider == DR
    assert custody[0] is K.ADDED_ON
    assert custody[1].startswith(f"Add-on TSH to specimen {accession} collected ")
    assert custody[2] is SpecimenStatus.RECEIVED  # the tube's state is unchanged
    assert kind == "OML^O21"
    segments = payload.strip("\r").split("\r")
    obr = [s for s in segments if s.startswith("OBR|")]
    assert len(obr) == 1  # only the added test
    assert "^TSH^" in obr[0]
    nte = segments[segments.index(obr[0]) + 1]
    assert nte.startswith(f"NTE|1|L|Add-on TSH to specimen {accession} collected ")
    assert nte.endswith(f"requested by {DR}")
    spm = next(s for s in segments if s.startswith("SPM|"))
    assert spm.split("|")[2].startswith(accession)

    # The overdue clock of the added test starts at the original collection.
    with world.uow() as uow:
        rows = load_board(uow, world.clock, world.users["sam"], OverduePolicy(), audit=False)
    row = next(r for r in rows.rows if r.ordered_test_id == result.ordered_test_id)
    assert row.accession == accession
    assert row.collected_s == collected_at.timestamp()
    world.clock.advance(timedelta(days=3))
    with world.uow() as uow:
        rows = load_board(uow, world.clock, world.users["sam"], OverduePolicy(), audit=False)
    row = next(r for r in rows.rows if r.ordered_test_id == result.ordered_test_id)
    flag = next(f for f in row.flags if f.reason is FlagReason.NOT_RESULTED)
    assert flag.since_s == collected_at.timestamp()


def test_pending_order_of_the_test_is_the_one_added(world: World) -> None:
    accession = world.specimen(tests=("CMP",), container="SST")
    ordered = pending(world, "TSH")  # no preparation rule (a fasting test: test_add_on_preparation)
    result = add(world, accession, "TSH")
    assert result.ordered_test_id == ordered  # type: ignore[attr-defined]
    assert not result.new_order  # type: ignore[attr-defined]
    assert carried(world, accession) == {"CMP": Status.COLLECTED, "TSH": Status.COLLECTED}


def test_refusals_name_the_reason_and_save_nothing(world: World) -> None:
    old = world.specimen(
        tests=("CMP",),
        container="SST",
        temperature=TemperatureClass.AMBIENT,
        collected_ago=timedelta(hours=5),
    )
    with pytest.raises(AddOnRefused, match=r"stability expired 3 h ago \(TSH keeps 2 h ambient\)"):
        add(world, old, "TSH")
    full = world.specimen(
        tests=("CMP", "BMP", "LFT", "LIPID", "NA", "CA", "MG", "FERR", "B12"), container="SST"
    )
    add(world, full, "VITD")  # 9 x 0.5 mL reserved on a 5 mL SST: 0.5 left, exactly enough
    with pytest.raises(AddOnRefused, match=r"not enough serum left: 0 of 0.5 mL") as info:
        add(world, full, "HCG")
    assert info.value.hint == "Order a new collection of the test instead."
    lav = world.specimen(tests=("CBC",))
    with pytest.raises(AddOnRefused, match="TSH needs serum; this specimen is whole blood"):
        add(world, lav, "TSH")
    with pytest.raises(NotFound, match="No specimen has accession ID"):
        add(world, _unused_accession(world), "TSH")
    assert carried(world, old) == {"CMP": Status.COLLECTED}
    assert carried(world, lav) == {"CBC": Status.COLLECTED}
    with world.uow() as uow:
        added = [e.detail for e in uow.audit.all_in_order() if e.detail.startswith("add-on")]
    assert len(added) == 1  # VITD only
    assert "VITD" in added[0]


def _unused_accession(world: World) -> str:
    from labdesk.domain.accession import make_accession

    return make_accession(world.clock.now().year, 999_999)


def test_rejected_cancelled_and_resulted_tests_are_refused(world: World) -> None:
    tube = world.specimen(tests=("CMP",), container="SST")
    received(world, tube)
    with world.uow() as uow:
        reject_specimen(uow, world.clock, world.users["lena"], tube, RejectionReason.HAEMOLYSED)
    with pytest.raises(AddOnRefused, match="the specimen was rejected by the lab"):
        add(world, tube, "TSH")

    fresh = world.specimen(tests=("CMP",), container="SST")
    cancelled = pending(world, "TSH")
    with world.uow() as uow:
        ot = uow.station.ordered_test(cancelled)
        assert ot is not None
        ot.status = Status.CANCELLED
        uow.commit()
    with pytest.raises(ValidationError, match="TSH was cancelled; it cannot be added on"):
        add(world, fresh, "TSH", ordered_test_id=cancelled)
    resulted = pending(world, "FT4")
    with world.uow() as uow:
        ot = uow.station.ordered_test(resulted)
        assert ot is not None
        ot.status = Status.FINAL
        uow.commit()
    with pytest.raises(ValidationError, match="FT4 was already resulted"):
        add(world, fresh, "FT4", ordered_test_id=resulted)
    add(world, fresh, "B12")
    with pytest.raises(AddOnRefused, match="B12 is already on this specimen"):
        add(world, fresh, "B12")
    with (
        pytest.raises(ValidationError, match="needs the name of who asked"),
        world.uow() as uow,
    ):
        add_test_to_specimen(
            uow, world.clock, world.users["maria"], fresh, "FERR", requested_by=" "
        )


def test_two_people_adding_the_same_test_at_once_exactly_one_wins(
    pg_engine: Engine, clock: FixedClock
) -> None:
    factory = UnitOfWorkFactory(pg_engine)
    world = World.build(factory, clock)
    accession = world.specimen(tests=("CMP",), container="SST")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(who: str) -> None:
        with factory() as uow:
            start.wait()
            try:
                add_test_to_specimen(
                    uow, clock, world.users[who], accession, "TSH", requested_by=DR
                )
                uow.commit()
                outcomes.append("won")
            except (AddOnConflict, AddOnRefused) as error:
                outcomes.append(error.message)

    threads = [threading.Thread(target=attempt, args=(w,)) for w in ("maria", "sam")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes)[-1] == "won"
    assert outcomes.count("won") == 1
    loser = next(o for o in outcomes if o != "won")
    assert "TSH" in loser
    assert "already on this specimen" in loser or "just added" in loser
    assert carried(world, accession) == {"CMP": Status.COLLECTED, "TSH": Status.COLLECTED}
