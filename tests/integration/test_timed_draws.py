"""Issue 13 item 3: timed and serial draws at the chair (SQLite and PostgreSQL).

The OGTT's first draw schedules 1H and 2H with stored due times; the plan offers only the
next step; a later step drawn first is refused naming the step to draw; a draw outside its
window needs a reason, which goes to the lab as an NTE with the time point; the label
carries the time point; a trough needs its dose time.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from station_world import StationWorld, add_order, build_station_world

from labdesk.adapters import orm
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.kinds import kinds
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.preparation import PreparationAnswers
from labdesk.domain.series import StepStatus
from labdesk.printing.label_content import label_content, specimen_marks
from labdesk.station.at_chair import AtChair
from labdesk.station.collect import CollectionRefused, collect
from labdesk.station.dto import ContainerCollection, EncounterView
from labdesk.station.encounter import (
    abandon_encounter,
    confirm_identity,
    load_encounter,
    open_encounter,
)
from labdesk.station.worklist import station_worklist

OGTT = ("GTT0", "GTT1H", "GTT2H")


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> StationWorld:
    return build_station_world(uow_factory, clock)


def _visit(uows: UnitOfWorkFactory, clock: FixedClock, world: StationWorld) -> int:
    with uows() as uow:
        eid = open_encounter(uow, clock, world.ma, world.patients["ana"], world.station_code)
    with uows() as uow:
        confirm_identity(
            uow, clock, world.ma, eid, birth_date=date(1984, 3, 5), name_confirmed=True
        )
    return eid


def _view(uows: UnitOfWorkFactory, world: StationWorld, eid: int) -> EncounterView:
    with uows() as uow:
        return load_encounter(uow, world.ma, eid)


def _draw(
    uows: UnitOfWorkFactory,
    clock: FixedClock,
    world: StationWorld,
    eid: int,
    test_ids: tuple[int, ...],
    **kw: object,
) -> None:
    request = ContainerCollection("GRAY", test_ids, volume_ml=4, **kw)  # type: ignore[arg-type]
    fasted = PreparationAnswers(last_meal_at=clock.now() - timedelta(hours=10))
    with uows() as uow:
        collect(uow, clock, world.ma, eid, [request], at_chair=AtChair(preparation=fasted))


def _specimens(uows: UnitOfWorkFactory) -> int:
    with uows() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(orm.specimens)) or 0)


def test_the_shipped_series_load_with_the_catalog(
    uow_factory: UnitOfWorkFactory, world: StationWorld
) -> None:
    assert "timed-draw series" in {k.name for k in kinds()}
    with uow_factory() as uow:
        steps = uow.timed_draws.steps_of("OGTT75")
        assert [s.time_point for s in steps] == ["OGTT FASTING", "OGTT 1H", "OGTT 2H"]
        assert uow.catalog.get_test("GTT2H") is not None


def test_first_draw_schedules_the_next_steps_and_the_plan_offers_only_the_next(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    fasting, one_h, two_h = add_order(uow_factory, clock, world.patients["ana"], OGTT)
    eid = _visit(uow_factory, clock, world)
    plan = _view(uow_factory, world, eid).plan
    assert [c.ordered_test_ids for c in plan.containers] == [(fasting,)]

    drawn_at = clock.now()
    _draw(uow_factory, clock, world, eid, (fasting,), fasting=True)

    with uow_factory() as uow:
        rows = uow.timed_draws.for_tests([fasting, one_h, two_h])
        worklist = station_worklist(uow, clock, world.ma, world.station_code, "America/New_York")
    assert rows[fasting].collected
    assert rows[one_h].window.due_at == drawn_at + timedelta(hours=1)
    assert rows[one_h].window.opens_at == drawn_at + timedelta(minutes=55)
    assert rows[one_h].window.closes_at == drawn_at + timedelta(minutes=65)
    assert rows[two_h].window.due_at == drawn_at + timedelta(hours=2)
    assert not rows[one_h].collected
    assert [(r.time_point, r.due_at) for r in worklist.timed_draws] == [
        ("OGTT 1H", drawn_at + timedelta(hours=1))
    ]
    # Not offered again in the visit that drew the fasting tube; the next visit offers it.
    assert _view(uow_factory, world, eid).plan.containers == ()
    with uow_factory() as uow:
        abandon_encounter(uow, clock, world.ma, eid, "patient waits in the lounge")
    eid = _visit(uow_factory, clock, world)
    assert [c.ordered_test_ids for c in _view(uow_factory, world, eid).plan.containers] == [
        (one_h,)
    ]

    clock.advance(timedelta(minutes=60))
    _draw(uow_factory, clock, world, eid, (one_h,))
    clock.advance(timedelta(minutes=62))  # 2 min late, still inside the +5 window
    _draw(uow_factory, clock, world, eid, (two_h,))
    with uow_factory() as uow:
        rows = uow.timed_draws.for_tests([one_h, two_h])
        worklist = station_worklist(uow, clock, world.ma, world.station_code, "America/New_York")
        statuses = {t.id: t.status for t in uow.orders.tests_for_orders([rows[one_h].order_id])}
    assert not rows[one_h].out_of_window
    assert not rows[two_h].out_of_window
    assert rows[two_h].window.status(rows[two_h].collected_at) is StepStatus.DUE  # type: ignore[arg-type]
    assert worklist.timed_draws == ()
    assert set(statuses.values()) == {Status.COLLECTED}


def test_a_later_step_drawn_first_is_refused_naming_the_step_to_draw(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    fasting, one_h, two_h = add_order(uow_factory, clock, world.patients["ana"], OGTT)
    eid = _visit(uow_factory, clock, world)
    with pytest.raises(CollectionRefused) as refused:
        _draw(uow_factory, clock, world, eid, (two_h,))
    assert "OGTT 2H cannot be drawn yet; draw OGTT FASTING first" in refused.value.message
    assert _specimens(uow_factory) == 0

    _draw(uow_factory, clock, world, eid, (fasting,), fasting=True)
    clock.advance(timedelta(minutes=60))
    with pytest.raises(CollectionRefused) as refused:
        _draw(uow_factory, clock, world, eid, (two_h,))
    assert "draw OGTT 1H first" in refused.value.message
    with pytest.raises(CollectionRefused) as refused:
        _draw(uow_factory, clock, world, eid, (one_h, two_h))
    assert "separate timed draws" in refused.value.message
    assert _specimens(uow_factory) == 1
    with uow_factory() as uow:
        assert not uow.timed_draws.for_tests([two_h])[two_h].collected


def test_out_of_window_needs_a_reason_that_goes_to_the_lab_and_the_label_shows_the_point(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    fasting, one_h, _ = add_order(uow_factory, clock, world.patients["ana"], OGTT)
    eid = _visit(uow_factory, clock, world)
    _draw(uow_factory, clock, world, eid, (fasting,), fasting=True)
    clock.advance(timedelta(minutes=40))  # 15 min before the window opens

    with pytest.raises(CollectionRefused) as refused:
        _draw(uow_factory, clock, world, eid, (one_h,))
    message = refused.value.message
    assert "OGTT 1H is drawn outside its window 09:55-10:05 (early by 15 min)" in message
    assert "give the reason for the time" in message
    assert _specimens(uow_factory) == 1

    _draw(uow_factory, clock, world, eid, (one_h,), timing_reason="patient must leave early")
    with uow_factory() as uow:
        row = uow.timed_draws.for_tests([one_h])[one_h]
        assert row.out_of_window
        assert row.deviation == "early by 15 min"
        specimen = uow.specimens.get(row.specimen_id or 0)
        assert specimen is not None
        payload = uow.hl7.outbound_for_specimens(specimen.accession).payload  # type: ignore[union-attr]
        content = label_content(uow, specimen)
    nte = [s for s in payload.split("\r") if s.startswith("NTE|")]
    assert len(nte) == 1
    assert "Timed draw OGTT 1H: due 2026-03-02 10:00" in nte[0]
    assert "drawn outside the window (early by 15 min); reason: patient must leave early" in nte[0]
    assert content.tests == ("OGTT 1H", "GTT1H")


def test_labels_printed_together_each_carry_their_own_time_point(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    """One print of several tubes reads their marks in one batch (not a query per label):
    each label still says its own step, as printed alone."""
    fasting, one_h, _ = add_order(uow_factory, clock, world.patients["ana"], OGTT)
    eid = _visit(uow_factory, clock, world)
    _draw(uow_factory, clock, world, eid, (fasting,), fasting=True)
    clock.advance(timedelta(hours=1))
    _draw(uow_factory, clock, world, eid, (one_h,))
    with uow_factory() as uow:
        drawn = uow.timed_draws.for_tests([fasting, one_h])
        specimens = [uow.specimens.get(drawn[t].specimen_id or 0) for t in (fasting, one_h)]
        ids = [s.id for s in specimens if s is not None and s.id is not None]
        marks = specimen_marks(uow, ids)
        together = [label_content(uow, s, marks=marks).tests for s in specimens if s]
        alone = [label_content(uow, s).tests for s in specimens if s]
    assert together == alone
    assert together[1] == ("OGTT 1H", "GTT1H")
    assert together[0] != together[1]
    assert set(marks.time_points) == set(ids)


def test_a_trough_needs_its_dose_time_and_is_judged_against_it(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    (trough,) = add_order(uow_factory, clock, world.patients["ana"], ("VANCOT",))
    eid = _visit(uow_factory, clock, world)
    request = ContainerCollection("RED", (trough,), volume_ml=6)
    last = PreparationAnswers(last_doses=(("VANCOT", clock.now() - timedelta(hours=11)),))
    chair = AtChair(preparation=last)
    with uow_factory() as uow, pytest.raises(CollectionRefused, match="enter the time of the"):
        collect(uow, clock, world.ma, eid, [request], at_chair=chair)
    late_dose = clock.now() + timedelta(minutes=90)  # window: 60 min before the dose to it
    with uow_factory() as uow, pytest.raises(CollectionRefused, match="early by 30 min"):
        collect(uow, clock, world.ma, eid, [_with(request, dose_at=late_dose)], at_chair=chair)
    dose = clock.now() + timedelta(minutes=20)
    with uow_factory() as uow:
        collect(uow, clock, world.ma, eid, [_with(request, dose_at=dose)], at_chair=chair)
    with uow_factory() as uow:
        row = uow.timed_draws.for_tests([trough])[trough]
    assert row.time_point == "VANC TROUGH"
    assert row.window.due_at == dose - timedelta(minutes=30)
    assert not row.out_of_window


def _with(request: ContainerCollection, **changes: object) -> ContainerCollection:
    from dataclasses import replace

    return replace(request, **changes)  # type: ignore[arg-type]
