"""The overdue engine with a fake clock: every flag, weekends, holidays and DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from labdesk.domain import order
from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import (
    Deadline,
    FlagReason,
    OrderedTestState,
    OverdueEngine,
    OverduePolicy,
    Urgency,
    from_posix,
    posix,
    worst_urgency,
)
from labdesk.domain.working_calendar import WorkingCalendar

NY = ZoneInfo("America/New_York")
Status = order.TestStatus  # not imported by name: pytest would try to collect Test*
S = Status
R = FlagReason


def ny(*args: int, fold: int = 0) -> datetime:
    """A New York wall-clock time as an aware datetime."""
    return datetime(*args, tzinfo=NY, fold=fold)  # type: ignore[misc]


def state(
    status: Status,
    *,
    ordered: datetime,
    stat: bool = False,
    routine: int = 1440,
    stat_tat: int | None = 60,
    working_days: bool = False,
    collected: datetime | None = None,
    changed: datetime | None = None,
    lost: datetime | None = None,
    first_result: datetime | None = None,
    last_result: datetime | None = None,
    critical: datetime | None = None,
    abnormal: bool = False,
    last_ack: datetime | None = None,
) -> OrderedTestState:
    """A test state from datetimes (the engine itself works in POSIX seconds)."""

    def s(value: datetime | None) -> float | None:
        return None if value is None else posix(value)

    return OrderedTestState(
        status,
        stat,
        routine,
        stat_tat,
        working_days,
        posix(ordered),
        s(collected),
        s(changed),
        s(lost),
        s(first_result),
        s(last_result),
        s(critical),
        abnormal,
        s(last_ack),
    )


@pytest.fixture
def engine() -> OverdueEngine:
    return OverdueEngine(OverduePolicy())


def reasons_at(engine: OverdueEngine, test: OrderedTestState, now: datetime) -> list[FlagReason]:
    return [f.reason for f in engine.flags(test, posix(now))]


def only(deadlines: tuple[Deadline, ...]) -> Deadline:
    assert len(deadlines) == 1, deadlines
    return deadlines[0]


# ---------------------------------------------------------------- every flag


def test_ordered_not_collected_waits_for_the_end_of_the_clinic_day(engine: OverdueEngine) -> None:
    test = state(S.ORDERED, ordered=ny(2026, 3, 3, 9, 0))
    deadline = only(engine.deadlines(test))
    assert deadline.reason is R.NOT_COLLECTED
    assert deadline.since == ny(2026, 3, 3, 9, 0)
    assert deadline.due_at == ny(2026, 3, 4, 0, 0)  # end of the local day, not +4 h
    clock = FixedClock(ny(2026, 3, 3, 23, 59))
    assert reasons_at(engine, test, clock.now()) == []
    clock.advance(timedelta(minutes=1))
    assert reasons_at(engine, test, clock.now()) == [R.NOT_COLLECTED]


def test_late_order_gets_at_least_the_grace(engine: OverdueEngine) -> None:
    test = state(S.ORDERED, ordered=ny(2026, 3, 3, 22, 30))
    assert only(engine.deadlines(test)).due_at == ny(2026, 3, 4, 2, 30)


@pytest.mark.parametrize("stat", [False, True])
def test_a_timed_draw_is_due_at_its_window_close(engine: OverdueEngine, stat: bool) -> None:
    """An OGTT 2H step: not flagged before its window (not even by a STAT grace), flagged
    the minute its window closes (not at the day's end)."""
    closes = ny(2026, 3, 3, 11, 10)
    test = state(S.ORDERED, ordered=ny(2026, 3, 3, 8, 0), stat=stat)._replace(
        collect_by_s=posix(closes)
    )
    deadline = only(engine.deadlines(test))
    assert (deadline.reason, deadline.since, deadline.due_at) == (
        R.NOT_COLLECTED,
        ny(2026, 3, 3, 8, 0),
        closes,
    )
    assert reasons_at(engine, test, closes - timedelta(seconds=1)) == []
    assert reasons_at(engine, test, closes) == [R.NOT_COLLECTED]


def test_stat_order_must_be_collected_within_the_stat_grace(engine: OverdueEngine) -> None:
    test = state(S.ORDERED, ordered=ny(2026, 3, 3, 9, 0), stat=True)
    assert only(engine.deadlines(test)).due_at == ny(2026, 3, 3, 10, 0)


def test_same_day_on_the_short_dst_sunday(engine: OverdueEngine) -> None:
    # Ordered 2026-03-08 01:30 EST; the day ends at midnight EDT, 21.5 real hours later.
    ordered = ny(2026, 3, 8, 1, 30)
    due = only(engine.deadlines(state(S.ORDERED, ordered=ordered))).due_at
    assert due == ny(2026, 3, 9, 0, 0)
    assert due - ordered == timedelta(hours=21, minutes=30)


def test_collected_not_picked_up(engine: OverdueEngine) -> None:
    collected = ny(2026, 3, 3, 9, 0)
    test = state(S.COLLECTED, ordered=collected - timedelta(hours=1), collected=collected)
    deadline = only(engine.deadlines(test))
    assert (deadline.reason, deadline.since, deadline.due_at) == (
        R.NOT_PICKED_UP,
        collected,
        collected + timedelta(hours=2),
    )
    assert reasons_at(engine, test, collected + timedelta(hours=1, minutes=59)) == []
    assert reasons_at(engine, test, collected + timedelta(hours=2)) == [R.NOT_PICKED_UP]


def test_overdue_in_transit_counts_from_pickup(engine: OverdueEngine) -> None:
    collected = ny(2026, 3, 3, 9, 0)
    picked_up = collected + timedelta(hours=1)
    test = state(S.IN_TRANSIT, ordered=collected, collected=collected, changed=picked_up)
    deadline = only(engine.deadlines(test))
    assert (deadline.reason, deadline.since) == (R.TRANSIT_OVERDUE, picked_up)
    assert deadline.due_at == picked_up + timedelta(hours=4)


def test_a_courier_route_sets_the_expected_transit(engine: OverdueEngine) -> None:
    collected = ny(2026, 3, 3, 9, 0)
    picked_up = collected + timedelta(minutes=50)
    test = state(S.IN_TRANSIT, ordered=collected, collected=collected, changed=collected)
    routed = test._replace(transit_min=90, picked_up_s=posix(picked_up))
    deadline = only(engine.deadlines(routed))
    assert (deadline.since, deadline.due_at) == (picked_up, picked_up + timedelta(minutes=90))


def test_a_lost_specimen_is_overdue_at_once(engine: OverdueEngine) -> None:
    collected = ny(2026, 3, 3, 9, 0)
    lost = collected + timedelta(hours=1, minutes=30)
    test = state(S.LOST, ordered=collected, collected=collected, changed=lost, lost=lost)
    assert only(engine.deadlines(test)).due_at == lost
    assert reasons_at(engine, test, lost) == [R.LOST]
    # Never "in transit" once lost: the state alone decides.
    assert R.TRANSIT_OVERDUE not in reasons_at(engine, test, lost + timedelta(days=1))


def test_a_result_discrepancy_is_flagged_at_once_beside_the_rejection(
    engine: OverdueEngine,
) -> None:
    rejected = ny(2026, 3, 3, 11, 0)
    arrived = rejected + timedelta(minutes=10)
    test = state(S.REJECTED, ordered=rejected, collected=rejected, changed=rejected)
    flagged = test._replace(discrepancy_s=posix(arrived))
    assert reasons_at(engine, flagged, arrived) == [R.RESULT_DISCREPANCY]
    later = arrived + timedelta(hours=2)
    assert reasons_at(engine, flagged, later) == [R.NO_RECOLLECTION, R.RESULT_DISCREPANCY]


def test_turnaround_clock_starts_at_collection_not_receipt(engine: OverdueEngine) -> None:
    collected = ny(2026, 3, 3, 9, 0)
    received = collected + timedelta(hours=20)
    test = state(S.RECEIVED, ordered=collected, collected=collected, changed=received)
    deadline = only(engine.deadlines(test))
    assert deadline.reason is R.NOT_RESULTED
    assert deadline.since == collected
    assert deadline.due_at == collected + timedelta(minutes=1440)  # not received + 24 h


def test_stat_turnaround_applies_to_stat_orders(engine: OverdueEngine) -> None:
    collected = ny(2026, 3, 3, 9, 0)
    test = state(S.RECEIVED, ordered=collected, collected=collected, stat=True, stat_tat=45)
    assert only(engine.deadlines(test)).due_at == collected + timedelta(minutes=45)
    no_stat_tat = test._replace(stat_tat_min=None)
    assert only(engine.deadlines(no_stat_tat)).due_at == collected + timedelta(minutes=1440)


def test_preliminary_overdue_for_final(engine: OverdueEngine) -> None:
    collected = ny(2026, 3, 3, 9, 0)
    prelim = collected + timedelta(hours=3)
    test = state(S.PRELIMINARY, ordered=collected, collected=collected, first_result=prelim)
    deadline = only(engine.deadlines(test))
    assert (deadline.reason, deadline.since) == (R.FINAL_OVERDUE, prelim)
    assert deadline.due_at == collected + timedelta(days=1)


def test_rejected_with_no_recollection(engine: OverdueEngine) -> None:
    rejected = ny(2026, 3, 3, 12, 0)
    test = state(S.REJECTED, ordered=rejected, collected=rejected, changed=rejected)
    deadline = only(engine.deadlines(test))
    assert (deadline.reason, deadline.due_at) == (
        R.NO_RECOLLECTION,
        rejected + timedelta(hours=1),
    )


@pytest.mark.parametrize(
    ("abnormal", "hours"), [pytest.param(False, 72, id="normal"), pytest.param(True, 24, id="abn")]
)
def test_resulted_not_acknowledged(engine: OverdueEngine, abnormal: bool, hours: int) -> None:
    result = ny(2026, 3, 3, 15, 0)
    test = state(S.FINAL, ordered=result, collected=result, last_result=result, abnormal=abnormal)
    deadline = only(engine.deadlines(test))
    assert (deadline.reason, deadline.since) == (R.NOT_ACKNOWLEDGED, result)
    assert deadline.due_at == result + timedelta(hours=hours)


def test_acknowledged_since_the_last_result_clears_the_flag(engine: OverdueEngine) -> None:
    result = ny(2026, 3, 3, 15, 0)
    acked = state(S.FINAL, ordered=result, last_result=result, last_ack=result)
    assert engine.deadlines(acked) == ()
    corrected = acked._replace(last_result_s=posix(result + timedelta(hours=2)))
    assert only(engine.deadlines(corrected)).reason is R.NOT_ACKNOWLEDGED


def test_not_performed_needs_acknowledging_like_an_abnormal(engine: OverdueEngine) -> None:
    at = ny(2026, 3, 3, 15, 0)
    deadline = only(engine.deadlines(state(S.NOT_PERFORMED, ordered=at, changed=at)))
    assert (deadline.reason, deadline.due_at) == (R.NOT_ACKNOWLEDGED, at + timedelta(hours=24))


def test_critical_not_acknowledged_within_policy_minutes(engine: OverdueEngine) -> None:
    critical = ny(2026, 3, 3, 15, 0)
    test = state(S.FINAL, ordered=critical, last_result=critical, critical=critical)
    deadline = only(engine.deadlines(test))
    assert deadline.reason is R.CRITICAL_NOT_ACKNOWLEDGED
    # Flagged the moment it is stored; escalated at the policy's minutes.
    assert deadline.due_at == critical
    assert engine.escalation_due_s(deadline) == posix(critical + timedelta(minutes=60))
    assert deadline.reason.urgency is Urgency.LIFE_THREATENING
    assert reasons_at(engine, test, critical) == [R.CRITICAL_NOT_ACKNOWLEDGED]
    assert reasons_at(engine, test, critical + timedelta(minutes=60)) == [
        R.CRITICAL_NOT_ACKNOWLEDGED
    ]
    policy_30 = OverdueEngine(OverduePolicy(critical_ack_min=30))
    flag = only(policy_30.deadlines(test))
    assert policy_30.escalation_due_s(flag) == posix(critical + timedelta(minutes=30))


def test_critical_preliminary_raises_both_flags(engine: OverdueEngine) -> None:
    collected = ny(2026, 3, 3, 9, 0)
    critical = collected + timedelta(hours=2)
    test = state(
        S.PRELIMINARY,
        ordered=collected,
        collected=collected,
        first_result=critical,
        critical=critical,
    )
    late = collected + timedelta(days=2)
    assert reasons_at(engine, test, late) == [R.CRITICAL_NOT_ACKNOWLEDGED, R.FINAL_OVERDUE]
    reviewed = test._replace(last_ack_s=posix(critical + timedelta(minutes=5)))
    assert reasons_at(engine, reviewed, late) == [R.FINAL_OVERDUE]


def test_unmatched_result_is_due_on_arrival(engine: OverdueEngine) -> None:
    arrived = posix(ny(2026, 3, 3, 15, 0))
    deadline = engine.unmatched(arrived)
    assert (deadline.reason, deadline.due_s) == (R.UNMATCHED_RESULT, arrived)
    assert deadline.is_due(arrived)


@pytest.mark.parametrize("status", [S.ACKNOWLEDGED, S.CANCELLED])
def test_closed_tests_have_no_deadlines(engine: OverdueEngine, status: Status) -> None:
    assert engine.deadlines(state(status, ordered=ny(2020, 1, 1))) == ()


# ---------------------------------------------------------------- working-day tests


def test_working_day_turnaround_over_a_weekend(engine: OverdueEngine) -> None:
    collected = ny(2026, 2, 27, 16, 0)  # Friday
    test = state(
        S.RECEIVED, ordered=collected, collected=collected, routine=2880, working_days=True
    )
    assert engine.result_due_s(test) == posix(ny(2026, 3, 3, 16, 0))
    calendar_time = test._replace(working_days=False)
    assert engine.result_due_s(calendar_time) == posix(ny(2026, 3, 1, 16, 0))


def test_working_day_turnaround_across_spring_dst_weekend(engine: OverdueEngine) -> None:
    collected = ny(2026, 3, 6, 22, 0)  # Friday EST; Sunday 2026-03-08 springs forward
    test = state(
        S.RECEIVED, ordered=collected, collected=collected, routine=2880, working_days=True
    )
    due = from_posix(engine.result_due_s(test))
    assert due == ny(2026, 3, 10, 22, 0)
    assert due == datetime(2026, 3, 11, 2, 0, tzinfo=UTC)  # EDT: UTC-4


def test_working_day_turnaround_across_autumn_dst_weekend() -> None:
    engine = OverdueEngine(OverduePolicy())
    collected = ny(2026, 10, 30, 22, 0)  # Friday EDT; Sunday 2026-11-01 falls back
    test = state(
        S.RECEIVED, ordered=collected, collected=collected, routine=2880, working_days=True
    )
    assert from_posix(engine.result_due_s(test)) == datetime(2026, 11, 4, 3, 0, tzinfo=UTC)


def test_working_day_turnaround_skips_configured_holidays() -> None:
    calendar = WorkingCalendar(holidays=frozenset({date(2026, 12, 25)}))
    engine = OverdueEngine(OverduePolicy(calendar=calendar))
    collected = ny(2026, 12, 24, 9, 0)  # Thursday; Friday is a holiday
    test = state(
        S.RECEIVED, ordered=collected, collected=collected, routine=1440, working_days=True
    )
    assert from_posix(engine.result_due_s(test)) == ny(2026, 12, 28, 9, 0)
    clock = FixedClock(ny(2026, 12, 28, 8, 59))
    assert reasons_at(engine, test, clock.now()) == []
    clock.advance(timedelta(minutes=1))
    assert reasons_at(engine, test, clock.now()) == [R.NOT_RESULTED]


def test_non_working_day_tests_run_on_real_time_across_dst(engine: OverdueEngine) -> None:
    collected = ny(2026, 3, 7, 12, 0)  # Saturday EST
    test = state(S.RECEIVED, ordered=collected, collected=collected)
    assert from_posix(engine.result_due_s(test)) == ny(2026, 3, 8, 13, 0)  # 24 real hours


# ---------------------------------------------------------------- helpers


def test_urgency_levels() -> None:
    assert worst_urgency(()) is None
    at = posix(ny(2026, 3, 3))
    flags = (
        Deadline(R.NOT_ACKNOWLEDGED, at, at),
        Deadline(R.NOT_RESULTED, at, at),
    )
    assert worst_urgency(flags) is Urgency.URGENT
    assert R.NOT_ACKNOWLEDGED.urgency is Urgency.FOLLOW_UP
    assert all(reason.label for reason in FlagReason)


def test_policy_refuses_negative_limits() -> None:
    with pytest.raises(ValueError, match="pickup_grace_min"):
        OverduePolicy(pickup_grace_min=-1)


def test_posix_round_trip() -> None:
    moment = ny(2026, 11, 1, 1, 30, fold=1)  # the second 01:30 (EST) of the fall-back night
    assert from_posix(posix(moment)) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
