"""Timed and serial draws at the chair: steps in order, due times stored, reasons recorded.

A series (OGTT FASTING/1H/2H, a trough, a morning cortisol) is ordered as its steps' tests
on one order. :func:`check_timed_draws` runs with the collection's other checks, before
anything is written: a later step drawn while an earlier one is still to draw is refused
naming the step to draw; two steps in one tube are refused; a draw outside its window
needs a reason when the compendium says so (a dose-timed step needs the dose time).
:func:`record_timed_draws` then runs in the collection's transaction, before the lab's
message is queued (so the message carries the time point and the reason): it records
each step drawn and, after a series' first draw, stores the due time and window of every
later step. The worklist (:func:`waiting_timed_draws`) shows those with a countdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.draw_plan import DrawPlan
from labdesk.domain.encounter import Encounter
from labdesk.domain.order import OrderedTest, TestStatus
from labdesk.domain.series import (
    MIN_TIMING_REASON,
    SeriesStep,
    TimedDraw,
    Window,
    first_step_window,
    schedule,
)
from labdesk.domain.timefmt import format_local
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import OrderedTestRow, PatientSummary, SignedInUser
from labdesk.ports import UnitOfWork
from labdesk.station.dto import ContainerCollection, TimedDrawRow, TimedStepInfo


@dataclass(frozen=True)
class _StepDraw:
    """One series step drawn by this collection, checked."""

    test: OrderedTest
    step: SeriesStep
    collected_at: datetime
    window: Window
    reason: str
    scheduled: bool
    """A row for it already exists (it was scheduled by the series' first draw)."""
    later: tuple[tuple[OrderedTest, SeriesStep], ...]
    """The series' steps after it still to schedule (only for the first draw)."""
    series_steps: tuple[SeriesStep, ...]
    dose_at: datetime | None


@dataclass(frozen=True)
class TimedDrawCheck:
    """What :func:`record_timed_draws` writes after the collection's checks passed."""

    encounter: Encounter
    timezone: str
    draws: tuple[_StepDraw, ...] = ()


def _zone(uow: UnitOfWork, encounter: Encounter) -> str:
    site = uow.people.site(encounter.site_id)
    return site.timezone if site is not None else "UTC"


def _hhmm(at: datetime, timezone: str) -> str:
    return format_local(at, timezone)[-5:]


def check_timed_draws(
    uow: UnitOfWork,
    clock: Clock,
    encounter: Encounter,
    containers: Sequence[ContainerCollection],
    problems: list[str],
) -> TimedDrawCheck:
    """Check the series steps among ``containers``; append every problem to ``problems``."""
    timezone = _zone(uow, encounter)
    drawn_now = {i for c in containers if c.collected for i in c.ordered_test_ids}
    draws: list[_StepDraw] = []
    for number, request in enumerate(containers, start=1):
        if not request.collected:
            continue
        where = f"container {number} ({request.container_code})"
        tests = [uow.station.ordered_test(i) for i in request.ordered_test_ids]
        present = [
            t for t in tests if t is not None and _patient_of(uow, t) == encounter.patient_id
        ]
        steps = uow.timed_draws.steps_for_tests(t.test_code for t in present)
        timed = [t for t in present if t.test_code in steps]
        if len(timed) > 1:
            names = " and ".join(steps[t.test_code].time_point for t in timed)
            problems.append(
                f"{where}: {names} are separate timed draws; draw each in its own tube "
                "at its own time"
            )
            continue
        for test in timed:
            draw = _check_step(
                uow, clock, test, steps[test.test_code], request, where, drawn_now, timezone
            )
            if isinstance(draw, str):
                problems.append(draw)
            elif draw is not None:
                draws.append(draw)
    return TimedDrawCheck(encounter, timezone, tuple(draws))


def _patient_of(uow: UnitOfWork, test: OrderedTest) -> int | None:
    order = uow.orders.get(test.order_id)
    return order.patient_id if order is not None else None


def _series_tests(
    uow: UnitOfWork, test: OrderedTest, step: SeriesStep
) -> list[tuple[OrderedTest, SeriesStep]]:
    """The order's tests that are steps of ``step``'s series (not cancelled), by step."""
    series = {s.test_code: s for s in uow.timed_draws.steps_of(step.series_code)}
    found = [
        (t, series[t.test_code])
        for t in uow.orders.tests_for_orders([test.order_id])
        if t.test_code in series and t.status is not TestStatus.CANCELLED
    ]
    return sorted(found, key=lambda pair: pair[1].step_no)


def _check_step(
    uow: UnitOfWork,
    clock: Clock,
    test: OrderedTest,
    step: SeriesStep,
    request: ContainerCollection,
    where: str,
    drawn_now: set[int],
    timezone: str,
) -> _StepDraw | str | None:
    """The checked step, or the problem in words (None: not a step to judge)."""
    assert test.id is not None
    if test.status is not TestStatus.ORDERED:
        return None  # already collected, rejected...: the collection's own checks say so
    pairs = _series_tests(uow, test, step)
    earlier = [(t, s) for t, s in pairs if s.step_no < step.step_no]
    undrawn = [s for t, s in earlier if t.status is TestStatus.ORDERED]
    if undrawn:
        first = undrawn[0]
        same = (
            " (it is in this collection too: untick this one)"
            if any(t.id in drawn_now for t, s in earlier if s is first)
            else ""
        )
        return (
            f"{where}: {step.time_point} cannot be drawn yet; draw {first.time_point} "
            f"first{same} - the steps of {step.series_name} are drawn in order"
        )
    at = request.collected_at or clock.now()
    rows = uow.timed_draws.for_tests(t.id for t, _ in pairs if t.id is not None)
    row = rows.get(test.id)
    later: tuple[tuple[OrderedTest, SeriesStep], ...] = ()
    if row is not None:
        window = row.window
    else:
        try:
            window = first_step_window(step, at, timezone, dose_at=request.dose_at)
        except ValueError:
            return (
                f"{where}: {step.time_point} is timed from a dose; enter the time of the "
                "dose (for a trough: the next dose)"
            )
        if not earlier:
            later = tuple((t, s) for t, s in pairs if s.step_no > step.step_no)
    reason = " ".join(request.timing_reason.split())
    if not window.contains(at) and step.reason_required and len(reason) < MIN_TIMING_REASON:
        return (
            f"{where}: {step.time_point} is drawn outside its window "
            f"{_hhmm(window.opens_at, timezone)}-{_hhmm(window.closes_at, timezone)} "
            f"({window.deviation(at)}); give the reason for the time (it goes to the lab "
            "with the specimen)"
        )
    return _StepDraw(
        test=test,
        step=step,
        collected_at=at,
        window=window,
        reason=reason,
        scheduled=row is not None,
        later=later,
        series_steps=tuple(s for _, s in pairs if s.step_no >= step.step_no),
        dose_at=request.dose_at,
    )


def record_timed_draws(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, check: TimedDrawCheck
) -> None:
    """Record the steps drawn and schedule the steps after a series' first draw (audited).

    Call it after the specimens are written (the ordered tests carry their specimen) and
    before the lab's message is queued.
    """
    encounter = check.encounter
    for draw in check.draws:
        test = draw.test
        assert test.id is not None
        assert test.specimen_id is not None
        outside = not draw.window.contains(draw.collected_at)
        deviation = draw.window.deviation(draw.collected_at)
        if draw.scheduled:
            uow.timed_draws.mark_collected(
                test.id,
                specimen_id=test.specimen_id,
                collected_at=draw.collected_at,
                out_of_window=outside,
                deviation=deviation,
                timing_reason=draw.reason,
            )
        else:
            uow.timed_draws.add(_row(draw, encounter.patient_id, clock.now()))
        planned = []
        if draw.later:
            steps = [draw.step, *(s for _, s in draw.later)]
            windows = schedule(steps, draw.collected_at, check.timezone, dose_at=draw.dose_at)
            by_step = {s.step_no: w for s, w in windows}
            for later_test, later_step in draw.later:
                window = by_step[later_step.step_no]
                uow.timed_draws.add(
                    TimedDraw(
                        patient_id=encounter.patient_id,
                        order_id=later_test.order_id,
                        series_code=later_step.series_code,
                        step_no=later_step.step_no,
                        ordered_test_id=later_test.id or 0,
                        time_point=later_step.time_point,
                        window=window,
                        reason_required=later_step.reason_required,
                        scheduled_at=clock.now(),
                    )
                )
                planned.append(
                    f"{later_step.time_point} due {format_local(window.due_at, check.timezone)}"
                )
        timing = f" outside its window ({deviation}): {draw.reason}" if outside else ""
        scheduled = f"; scheduled {', '.join(planned)}" if planned else ""
        record_audit(
            uow,
            clock,
            action=AuditAction.CREATE,
            entity="timed_draw",
            entity_id=test.id,
            actor=actor,
            station=encounter.station_code,
            detail=f"{draw.step.time_point} drawn in specimen {test.specimen_id}{timing}"
            f"{scheduled}"[:400],
        )


def _row(draw: _StepDraw, patient_id: int, now: datetime) -> TimedDraw:
    test, step, window = draw.test, draw.step, draw.window
    assert test.id is not None
    return TimedDraw(
        patient_id=patient_id,
        order_id=test.order_id,
        series_code=step.series_code,
        step_no=step.step_no,
        ordered_test_id=test.id,
        time_point=step.time_point,
        window=window,
        reason_required=step.reason_required,
        scheduled_at=now,
        specimen_id=test.specimen_id,
        collected_at=draw.collected_at,
        out_of_window=not window.contains(draw.collected_at),
        deviation=window.deviation(draw.collected_at),
        timing_reason=draw.reason,
    )


def waiting_timed_draws(
    uow: UnitOfWork, summary: dict[int, PatientSummary] | None = None
) -> tuple[TimedDrawRow, ...]:
    """The next step to draw of every scheduled series (one per series), soonest first."""
    seen: set[tuple[int, str]] = set()
    rows: list[TimedDrawRow] = []
    tests = {}
    waiting = uow.timed_draws.waiting()
    for draw in sorted(waiting, key=lambda d: (d.order_id, d.series_code, d.step_no)):
        key = (draw.order_id, draw.series_code)
        if key in seen:
            continue
        seen.add(key)
        tests[draw.ordered_test_id] = draw
    for draw in sorted(tests.values(), key=lambda d: d.window.due_at):
        patient = (summary or {}).get(draw.patient_id)
        if patient is None:
            record = uow.patients.get(draw.patient_id)
            assert record is not None
            patient = PatientSummary.of(record)
        test = uow.station.ordered_test(draw.ordered_test_id)
        rows.append(
            TimedDrawRow(
                patient=patient,
                time_point=draw.time_point,
                test_code=test.test_code if test is not None else "",
                due_at=draw.window.due_at,
                opens_at=draw.window.opens_at,
                closes_at=draw.window.closes_at,
            )
        )
    return tuple(rows)


def held_back_test_ids(
    uow: UnitOfWork, tests: Sequence[OrderedTestRow], encounter_id: int | None = None
) -> frozenset[int]:
    """Ids of pending series steps the plan does not offer yet.

    Only the next step of each series is planned, so the MA never draws a later one first
    by mistake; and a step is not offered in the visit that drew the step before it (the
    patient comes back for it: the worklist counts down to it).
    """
    pending = [t for t in tests if t.status is TestStatus.ORDERED]
    steps = uow.timed_draws.steps_for_tests(t.test_code for t in pending)
    timed = sorted(
        (t for t in pending if t.test_code in steps), key=lambda t: steps[t.test_code].step_no
    )
    drawn_here: set[int] = set()
    if encounter_id is not None and timed:
        drawn_here = {s.id for s in uow.station.specimens(encounter_id) if s.id is not None}
    held: set[int] = set()
    seen: set[tuple[int, str]] = set()
    for test in timed:
        key = (test.order_id, steps[test.test_code].series_code)
        if key in seen or (drawn_here and _previous_drawn_in(uow, test, drawn_here)):
            held.add(test.ordered_test_id)
        seen.add(key)
    return frozenset(held)


def _previous_drawn_in(uow: UnitOfWork, test: OrderedTestRow, specimen_ids: set[int]) -> bool:
    """True when the step before ``test`` in its series was drawn in one of ``specimen_ids``."""
    row = uow.timed_draws.for_tests([test.ordered_test_id]).get(test.ordered_test_id)
    if row is None:
        return False
    drawn = uow.timed_draws.for_specimens(specimen_ids)
    return any(
        d.order_id == row.order_id and d.series_code == row.series_code and d.step_no < row.step_no
        for d in drawn
    )


def plannable(
    uow: UnitOfWork, rows: Sequence[OrderedTestRow], encounter_id: int | None = None
) -> list[OrderedTestRow]:
    """``rows`` without the series steps whose turn has not come (see
    :func:`held_back_test_ids`)."""
    held = held_back_test_ids(uow, rows, encounter_id)
    return [r for r in rows if r.ordered_test_id not in held]


def timed_steps(uow: UnitOfWork, plan: DrawPlan) -> tuple[TimedStepInfo, ...]:
    """The plan's tests that are series steps, with the stored window of scheduled ones."""
    planned = [(t.ordered_test_id, t.test_code) for c in plan.containers for t in c.tests]
    steps = uow.timed_draws.steps_for_tests(code for _, code in planned)
    ids = [i for i, code in planned if code in steps]
    rows = uow.timed_draws.for_tests(ids)
    return tuple(
        TimedStepInfo(
            ordered_test_id=i,
            step=steps[code],
            window=rows[i].window if i in rows else None,
        )
        for i, code in planned
        if code in steps
    )
