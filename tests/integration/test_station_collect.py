"""Station services on both backends: identification, orders, collection in one transaction."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from station_world import StationWorld, add_order, build_station_world

from labdesk.adapters import orm
from labdesk.adapters.orm.hl7 import outbound_messages
from labdesk.adapters.orm.station import collection_details, missed_collections
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import PermissionDenied, ValidationError
from labdesk.domain.forensic import ForensicForm, UrineMethod
from labdesk.domain.order import OrderStatus, Priority
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.preparation import PreparationAnswers
from labdesk.station import collect as station_collect
from labdesk.station.at_chair import AtChair
from labdesk.station.collect import CollectionRefused, collect
from labdesk.station.dto import ContainerCollection, EncounterView
from labdesk.station.encounter import (
    IdentityMismatch,
    abandon_encounter,
    confirm_identity,
    confirm_identity_by_wristband,
    load_encounter,
    open_encounter,
)
from labdesk.station.forensic import (
    collect_observed_recollection,
    waive_observed_recollection,
)
from labdesk.station.orders import cancel_order, cancel_tests, place_order

BORN = date(1984, 3, 5)
SWAPPED = date(1984, 5, 3)


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> StationWorld:
    return build_station_world(uow_factory, clock)


def _count(uows: UnitOfWorkFactory, table: object) -> int:
    with uows() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def _open(uows: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, who: str) -> int:
    with uows() as uow:
        return open_encounter(uow, clock, world.ma, world.patients[who], world.station_code)


def _identify(uows: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, eid: int) -> None:
    with uows() as uow:
        confirm_identity(
            uow, clock, world.ma, eid, birth_date=date(1984, 3, 5), name_confirmed=True
        )


def _view(uows: UnitOfWorkFactory, world: StationWorld, eid: int) -> EncounterView:
    with uows() as uow:
        return load_encounter(uow, world.ma, eid)


def _all_collected(view: EncounterView) -> list[ContainerCollection]:
    return [
        ContainerCollection(c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml)
        for c in view.plan.containers
    ]


def test_collection_refused_before_two_identifiers(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("CBC",))
    eid = _open(uow_factory, clock, world, "ana")
    view = _view(uow_factory, world, eid)
    with uow_factory() as uow, pytest.raises(ValidationError, match="two identifiers"):
        collect(uow, clock, world.ma, eid, _all_collected(view))
    assert _count(uow_factory, orm.specimens) == 0


def test_wrong_date_of_birth_is_refused_and_audited(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    eid = _open(uow_factory, clock, world, "ana")
    with uow_factory() as uow, pytest.raises(IdentityMismatch, match="date of birth"):
        confirm_identity(
            uow, clock, world.ma, eid, birth_date=date(1984, 5, 3), name_confirmed=True
        )
    with uow_factory() as uow, pytest.raises(ValidationError, match="name"):
        confirm_identity(
            uow, clock, world.ma, eid, birth_date=date(1984, 3, 5), name_confirmed=False
        )
    with uow_factory() as uow:
        outcomes = [e.outcome for e in uow.audit.all_in_order() if e.entity == "encounter"]
    assert outcomes == ["mismatch"]
    assert not _view(uow_factory, world, eid).identified


def test_stated_family_name_confirms_the_name(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    eid = _open(uow_factory, clock, world, "ana")
    with uow_factory() as uow:
        confirm_identity(
            uow,
            clock,
            world.ma,
            eid,
            birth_date=date(1984, 3, 5),
            name_confirmed=False,
            stated_family_name="OKAFOR",
        )
    assert _view(uow_factory, world, eid).identified


def test_wristband_of_another_patient_is_a_mismatch(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    eid = _open(uow_factory, clock, world, "ana")
    with uow_factory() as uow, pytest.raises(IdentityMismatch, match="another patient"):
        confirm_identity_by_wristband(uow, clock, world.ma, eid, "WB-M200002")
    with uow_factory() as uow:
        confirm_identity_by_wristband(uow, clock, world.ma, eid, "WB-M200001")
    view = _view(uow_factory, world, eid)
    assert view.identified
    assert view.id_method is not None
    assert view.id_method.value == "wristband"


def test_reopening_resumes_the_open_encounter(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    assert _open(uow_factory, clock, world, "ana") == _open(uow_factory, clock, world, "ana")


def test_resumed_visit_needs_a_fresh_identity_check_and_stale_ones_close(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    eid = _open(uow_factory, clock, world, "ana")
    _identify(uow_factory, clock, world, eid)
    clock.advance(timedelta(minutes=20))
    assert _open(uow_factory, clock, world, "ana") == eid
    assert _view(uow_factory, world, eid).identified  # still the same sitting
    clock.advance(timedelta(minutes=20))
    assert _open(uow_factory, clock, world, "ana") == eid
    assert not _view(uow_factory, world, eid).identified  # 40 min later: ask again
    clock.advance(timedelta(hours=13))
    newer = _open(uow_factory, clock, world, "ana")
    assert newer != eid
    assert _view(uow_factory, world, eid).status.value == "abandoned"


def test_courier_may_not_collect(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    with uow_factory() as uow, pytest.raises(PermissionDenied):
        open_encounter(uow, clock, world.courier, world.patients["ana"], world.station_code)


def test_collect_whole_plan_creates_specimens_links_and_events(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    ids = add_order(uow_factory, clock, world.patients["ana"], ("CBC", "CMP", "PTINR", "TSH"))
    eid = _open(uow_factory, clock, world, "ana")
    _identify(uow_factory, clock, world, eid)
    view = _view(uow_factory, world, eid)
    assert [c.container_code for c in view.plan.containers] == ["LBLU", "SST", "LAV"]

    with uow_factory() as uow:
        result = collect(uow, clock, world.ma, eid, _all_collected(view))

    assert len(result.specimens) == 3
    assert {s.container_code for s in result.specimens} == {"LBLU", "SST", "LAV"}
    with uow_factory() as uow:
        tests = uow.orders.tests_for_orders([uow.station.ordered_test(ids[0]).order_id])  # type: ignore[union-attr]
        assert {t.status for t in tests} == {Status.COLLECTED}
        sst = next(s for s in result.specimens if s.container_code == "SST")
        assert sorted(sst.tests) == ["CMP", "TSH"]
        for specimen in result.specimens:
            events = uow.custody.for_specimen(specimen.id)
            assert [e.kind for e in events] == [CustodyEventKind.COLLECTED]
            assert events[0].location == "CLINIC-S / DRAW-2"
    assert _count(uow_factory, collection_details) == 3
    assert _count(uow_factory, outbound_messages) == 1  # the lab hears of it (same commit)
    after = _view(uow_factory, world, eid)
    assert after.plan.containers == ()
    assert "3 label(s) not printed" in after.blockers


def test_container_not_collected_keeps_tests_pending_with_reason(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("CBC", "CMP"))
    eid = _open(uow_factory, clock, world, "ana")
    _identify(uow_factory, clock, world, eid)
    view = _view(uow_factory, world, eid)
    lav, sst = view.plan.containers[1], view.plan.containers[0]
    requests = [
        ContainerCollection(sst.container_code, sst.ordered_test_ids),
        ContainerCollection(
            lav.container_code, lav.ordered_test_ids, collected=False, not_collected_reason="x"
        ),
    ]
    with uow_factory() as uow, pytest.raises(CollectionRefused, match="say why"):
        collect(uow, clock, world.ma, eid, requests)
    requests[1] = ContainerCollection(
        lav.container_code,
        lav.ordered_test_ids,
        collected=False,
        not_collected_reason="patient fainted",
    )
    with uow_factory() as uow:
        result = collect(uow, clock, world.ma, eid, requests)
    assert result.missed_test_ids == lav.ordered_test_ids
    after = _view(uow_factory, world, eid)
    assert [c.container_code for c in after.plan.containers] == ["LAV"]
    assert _count(uow_factory, missed_collections) == 1


def test_cancelled_test_refuses_the_collection_and_saves_nothing(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    ids = add_order(uow_factory, clock, world.patients["ana"], ("CBC", "CMP"))
    eid = _open(uow_factory, clock, world, "ana")
    _identify(uow_factory, clock, world, eid)
    stale = _view(uow_factory, world, eid)  # the screen still shows CBC
    with uow_factory() as uow:
        assert cancel_tests(uow, clock, world.ma, [ids[0]], "duplicate order") == 1
    with uow_factory() as uow, pytest.raises(CollectionRefused, match="CBC was cancelled"):
        collect(uow, clock, world.ma, eid, _all_collected(stale))
    assert _count(uow_factory, orm.specimens) == 0
    assert _count(uow_factory, orm.custody_events) == 0


def test_failure_midway_saves_nothing(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    world: StationWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("CBC", "CMP"))
    eid = _open(uow_factory, clock, world, "ana")
    _identify(uow_factory, clock, world, eid)
    view = _view(uow_factory, world, eid)
    real = station_collect.record_event
    calls: list[int] = []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk unplugged")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(station_collect, "record_event", flaky)
    with uow_factory() as uow, pytest.raises(RuntimeError):
        collect(uow, clock, world.ma, eid, _all_collected(view))
    assert _count(uow_factory, orm.specimens) == 0
    assert _count(uow_factory, collection_details) == 0
    assert _count(uow_factory, outbound_messages) == 0
    assert all(r.status is Status.ORDERED for r in _view(uow_factory, world, eid).orders)


def test_backdating_needs_a_reason(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("CBC",))
    eid = _open(uow_factory, clock, world, "ana")
    _identify(uow_factory, clock, world, eid)
    lav = _view(uow_factory, world, eid).plan.containers[0]
    earlier = clock.now() - timedelta(minutes=40)
    request = ContainerCollection(lav.container_code, lav.ordered_test_ids, collected_at=earlier)
    with uow_factory() as uow, pytest.raises(CollectionRefused, match="needs a reason"):
        collect(uow, clock, world.ma, eid, [request])
    future = ContainerCollection(
        lav.container_code, lav.ordered_test_ids, collected_at=clock.now() + timedelta(hours=1)
    )
    with uow_factory() as uow, pytest.raises(CollectionRefused, match="future"):
        collect(uow, clock, world.ma, eid, [future])
    ok = ContainerCollection(
        lav.container_code,
        lav.ordered_test_ids,
        collected_at=earlier,
        backdate_reason="recorded after a faint",
    )
    with uow_factory() as uow:
        result = collect(uow, clock, world.ma, eid, [ok])
    assert result.specimens[0].collected_at == earlier


def test_fasting_and_urine_type_are_required(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("LIPID", "UA"))
    eid = _open(uow_factory, clock, world, "ana")
    _identify(uow_factory, clock, world, eid)
    plan = _view(uow_factory, world, eid).plan
    sst, uat = plan.blood[0], plan.urine[0]
    bare = [
        ContainerCollection(sst.container_code, sst.ordered_test_ids),
        ContainerCollection(uat.container_code, uat.ordered_test_ids),
    ]
    with uow_factory() as uow, pytest.raises(CollectionRefused) as info:
        collect(uow, clock, world.ma, eid, bare)
    # The lipid panel's fasting is the preparation question's (asked once, not 'Fasted?').
    assert any("When did the patient last eat" in p for p in info.value.problems)
    assert not any("whether the patient fasted" in p for p in info.value.problems)
    assert any("urine collection type" in p for p in info.value.problems)
    good = [
        ContainerCollection(sst.container_code, sst.ordered_test_ids),
        ContainerCollection(
            uat.container_code, uat.ordered_test_ids, urine_method=UrineMethod.CLEAN_CATCH
        ),
    ]
    fasted = PreparationAnswers(last_meal_at=clock.now() - timedelta(hours=12))
    with uow_factory() as uow:
        collect(uow, clock, world.ma, eid, good, at_chair=AtChair(preparation=fasted))
        details = sorted((d.method.value, d.fasting) for d in uow.station.details(eid))
    assert details == [("clean_catch", None), ("venipuncture", True)]


OBSERVED = AtChair(observer_badge="BADGE-OBS-1")
"""A forensic collection records who observed it (issue 13 item 6)."""

FORM = ForensicForm(
    ccf_number="T123 4567",
    temperature_c=34.5,
    minutes_to_temperature_read=2,
    bottle_a_ml=35,
    bottle_b_ml=20,
    bottles_sealed_and_dated=True,
    donor_initialled_seals=True,
    donor_id_checked=True,
)


def _forensic_setup(
    uows: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> tuple[int, tuple[int, ...]]:
    add_order(uows, clock, world.patients["ana"], ("UDSDOT",))
    eid = _open(uows, clock, world, "ana")
    _identify(uows, clock, world, eid)
    cup = _view(uows, world, eid).plan.urine[0]
    assert cup.chain_of_custody
    with uows() as uow:  # the MA observes the void herself: her badge is the observer's
        observer = uow.people.user(world.ma.id)
        assert observer is not None
        observer.badge_id = OBSERVED.observer_badge
        uow.commit()
    return eid, cup.ordered_test_ids


def test_forensic_form_missing_items_block_the_collection(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    eid, ids = _forensic_setup(uow_factory, clock, world)
    form = ForensicForm(ccf_number="T1234567", temperature_c=35, bottle_a_ml=20)
    with uow_factory() as uow, pytest.raises(CollectionRefused) as info:
        collect(uow, clock, world.ma, eid, [ContainerCollection("CCUP", ids, forensic=form)])
    text = " ".join(info.value.problems)
    for words in ("Minutes from void", "Bottle A holds 20", "Bottle B volume", "initialled"):
        assert words in text
    assert _count(uow_factory, orm.specimens) == 0


def test_forensic_out_of_range_temperature_starts_observed_recollection(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    eid, ids = _forensic_setup(uow_factory, clock, world)
    hot = FORM.__class__(**{**FORM.__dict__, "temperature_c": 39.5, "remarks": "temp 39.5"})
    with uow_factory() as uow:
        result = collect(
            uow, clock, world.ma, eid, [ContainerCollection("CCUP", ids, forensic=hot)],
            at_chair=OBSERVED,
        )  # fmt: skip
    first = result.specimens[0]
    assert result.observed_recollection_needed == (first.id,)
    assert first.ccf_number == "T1234567"
    view = _view(uow_factory, world, eid)
    assert any("observed recollection" in b for b in view.blockers)
    with uow_factory() as uow:
        note = uow.custody.for_specimen(first.id)[0].note
    assert "CCF T1234567" in note
    assert "OUT OF RANGE" in note

    second = FORM.__class__(
        **{**FORM.__dict__, "ccf_number": "T7654321", "observed": True, "remarks": "observed"}
    )
    with uow_factory() as uow, pytest.raises(CollectionRefused, match="observed"):
        collect_observed_recollection(uow, clock, world.ma, eid, first.id, FORM)
    with uow_factory() as uow:
        again = collect_observed_recollection(
            uow, clock, world.ma, eid, first.id, second, observer=OBSERVED.observer_badge
        )
    view = _view(uow_factory, world, eid)
    assert not any("observed recollection" in b for b in view.blockers)
    assert len(view.specimens) == 2
    with uow_factory() as uow:
        record = uow.station.forensic_of(again.specimens[0].id)
        assert record is not None
        assert record.recollection_of_id == first.id
        assert record.observed


def test_forensic_recollection_can_be_waived_with_a_reason(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    eid, ids = _forensic_setup(uow_factory, clock, world)
    cold = FORM.__class__(**{**FORM.__dict__, "temperature_c": 30.0, "remarks": "cold"})
    with uow_factory() as uow:
        first = collect(
            uow, clock, world.ma, eid, [ContainerCollection("CCUP", ids, forensic=cold)],
            at_chair=OBSERVED,
        )  # fmt: skip
    specimen_id = first.specimens[0].id
    with uow_factory() as uow, pytest.raises(ValidationError, match="Say why"):
        waive_observed_recollection(uow, clock, world.ma, specimen_id, "")
    with uow_factory() as uow:
        waive_observed_recollection(uow, clock, world.ma, specimen_id, "donor left: refusal")
    assert not _view(uow_factory, world, eid).specimens[0].needs_observed_recollection


def test_place_and_cancel_manual_order(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    eid = _open(uow_factory, clock, world, "ben")
    with uow_factory() as uow, pytest.raises(ValidationError, match="ordering provider"):
        place_order(
            uow,
            clock,
            world.ma,
            patient_id=world.patients["ben"],
            test_codes=["CBC"],
            ordering_provider=" ",
        )
    with uow_factory() as uow, pytest.raises(ValidationError, match="not an orderable"):
        place_order(
            uow,
            clock,
            world.ma,
            patient_id=world.patients["ben"],
            test_codes=["XYZ"],
            ordering_provider="Dr. Who",
        )
    with uow_factory() as uow:
        order_id = place_order(
            uow,
            clock,
            world.ma,
            patient_id=world.patients["ben"],
            test_codes=["cbc", "BMP"],
            ordering_provider="Dr. Who",
            priority=Priority.STAT,
            station_code="DRAW-2",
        )
    view = _view(uow_factory, world, eid)
    assert sorted(r.test_code for r in view.orders) == ["BMP", "CBC"]
    assert all(c.stat for c in view.plan.containers)
    with uow_factory() as uow, pytest.raises(ValidationError, match="reason"):
        cancel_order(uow, clock, world.ma, order_id, "")
    with uow_factory() as uow:
        assert cancel_order(uow, clock, world.ma, order_id, "entered in error") == 2
        order = uow.orders.get(order_id)
        assert order is not None
        assert order.status is OrderStatus.CANCELLED
        assert order.cancel_reason == "entered in error"
        actions = [(e.action.value, e.entity) for e in uow.audit.all_in_order()]
    assert ("create", "order") in actions
    assert ("update", "ordered_test") in actions
    assert _view(uow_factory, world, eid).plan.is_empty


def test_abandon_before_collection_saves_nothing_after_needs_reason(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ana"], ("CBC",))
    eid = _open(uow_factory, clock, world, "ana")
    with uow_factory() as uow:
        view = abandon_encounter(uow, clock, world.ma, eid)
    assert view.status.value == "abandoned"
    assert _count(uow_factory, orm.specimens) == 0
    assert [r.status for r in view.orders] == [Status.ORDERED]

    eid = _open(uow_factory, clock, world, "ana")
    _identify(uow_factory, clock, world, eid)
    with uow_factory() as uow:
        collect(uow, clock, world.ma, eid, _all_collected(_view(uow_factory, world, eid)))
    with uow_factory() as uow, pytest.raises(ValidationError, match="say why"):
        abandon_encounter(uow, clock, world.ma, eid)
    with uow_factory() as uow:
        view = abandon_encounter(uow, clock, world.ma, eid, "printer broken, labels later")
    assert view.status.value == "abandoned"
    assert len(view.specimens) == 1
