"""The overdue engine: which step of an ordered test is late, since when, and until when.

Every ordered test must end in a result a clinician acknowledged, or in a flag. For each
open test the engine lists its pending *deadlines* (one per step still waited for); a
deadline whose due time has passed is a *flag*. The turnaround clock starts at collection,
not at lab receipt, and tests the catalog promises in working days run on the clinic's
:class:`~labdesk.domain.working_calendar.WorkingCalendar`.

Times in the hot path are POSIX seconds (UTC): the clinician board evaluates 100,000 tests
per load, and building datetime objects for each would cost more than the whole budget.
:func:`posix` and :func:`from_posix` convert at the edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import NamedTuple

from labdesk.domain.clock import ensure_utc
from labdesk.domain.order import TestStatus
from labdesk.domain.working_calendar import WorkingCalendar, end_of_local_day

_LOCAL_DAY_BUCKET_S = 900
"""Instants in one UTC quarter hour share their local date in every time zone."""


class Urgency(IntEnum):
    """The three follow-up levels (life-threatening, urgent, must follow up); low is worse."""

    LIFE_THREATENING = 1
    URGENT = 2
    FOLLOW_UP = 3


class FlagReason(StrEnum):
    """Why an ordered test is overdue (reason codes, stable in exports and the database)."""

    NOT_COLLECTED = "not_collected"
    NOT_PICKED_UP = "not_picked_up"
    TRANSIT_OVERDUE = "transit_overdue"
    NOT_RESULTED = "not_resulted"
    FINAL_OVERDUE = "final_overdue"
    NO_RECOLLECTION = "no_recollection"
    NOT_ACKNOWLEDGED = "not_acknowledged"
    CRITICAL_NOT_ACKNOWLEDGED = "critical_not_acknowledged"
    UNMATCHED_RESULT = "unmatched_result"
    LOST = "lost"
    RESULT_DISCREPANCY = "result_discrepancy"

    @property
    def at_once(self) -> bool:
        """True for a flag raised the moment its state begins (nothing to wait for)."""
        return self in _AT_ONCE

    @property
    def label(self) -> str:
        """Short English description (the UI translates its own copy)."""
        return _LABELS[self]

    @property
    def urgency(self) -> Urgency:
        """How urgently someone must act once the flag is raised."""
        if self is FlagReason.CRITICAL_NOT_ACKNOWLEDGED:
            return Urgency.LIFE_THREATENING
        if self in {FlagReason.NOT_ACKNOWLEDGED, FlagReason.FINAL_OVERDUE}:
            return Urgency.FOLLOW_UP
        return Urgency.URGENT


_LABELS = {
    FlagReason.NOT_COLLECTED: "Ordered, not collected",
    FlagReason.NOT_PICKED_UP: "Collected, not picked up",
    FlagReason.TRANSIT_OVERDUE: "Overdue in transit",
    FlagReason.NOT_RESULTED: "Received, not resulted past turnaround",
    FlagReason.FINAL_OVERDUE: "Preliminary, final overdue",
    FlagReason.NO_RECOLLECTION: "Rejected, no recollection",
    FlagReason.NOT_ACKNOWLEDGED: "Resulted, not acknowledged",
    FlagReason.CRITICAL_NOT_ACKNOWLEDGED: "Critical, not acknowledged",
    FlagReason.UNMATCHED_RESULT: "Unmatched result",
    FlagReason.LOST: "Lost, not recollected",
    FlagReason.RESULT_DISCREPANCY: "Result on a rejected or lost specimen",
}

_AT_ONCE = frozenset(
    {
        FlagReason.CRITICAL_NOT_ACKNOWLEDGED,
        FlagReason.UNMATCHED_RESULT,
        FlagReason.LOST,
        FlagReason.RESULT_DISCREPANCY,
    }
)
"""A critical result must be acted on now (its escalation comes at ``critical_ack_min``);
a lost specimen or a result that contradicts the lab's rejection has nothing to wait for."""


@dataclass(frozen=True)
class OverduePolicy:
    """The clinic's time limits (configurable).

    The defaults follow common closed-loop practice for results (critical results reported
    and acknowledged within the hour, as in The Joint Commission's NPSG.02.03.01).

    Attributes:
        calendar: working days, holidays and the clinic's time zone.
        collect_grace_min: an order not collected this long after ordering is overdue.
        collect_same_day: a routine order may also wait until the end of its local day.
        collect_grace_stat_min: the same limit for a STAT order.
        pickup_grace_min: a collected specimen waiting longer for the courier is overdue.
        transit_expected_min: expected transit time from pickup to lab receipt.
        recollect_grace_min: a rejected test not recollected within this is flagged.
        ack_normal_h: hours to acknowledge a normal result (must follow up).
        ack_abnormal_h: hours to acknowledge an abnormal result or a not-performed test.
        critical_ack_min: minutes to acknowledge a critical result before escalation
            (CLSI GP47: at most one hour).
    """

    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    collect_grace_min: int = 240
    collect_same_day: bool = True
    collect_grace_stat_min: int = 60
    pickup_grace_min: int = 120
    transit_expected_min: int = 240
    recollect_grace_min: int = 60
    ack_normal_h: int = 72
    ack_abnormal_h: int = 24
    critical_ack_min: int = 60

    def __post_init__(self) -> None:
        for name in (
            "collect_grace_min",
            "collect_grace_stat_min",
            "pickup_grace_min",
            "transit_expected_min",
            "recollect_grace_min",
            "ack_normal_h",
            "ack_abnormal_h",
            "critical_ack_min",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


class OrderedTestState(NamedTuple):
    """What the engine needs to know about one ordered test (times in POSIX seconds).

    ``critical_s`` is when the first current critical result arrived; ``last_ack_s`` the
    latest acknowledgement; ``lost_s`` when the specimen was reported lost;
    ``discrepancy_s`` when the oldest open result discrepancy (a result for a rejected or lost
    specimen, kept on the interface worklist) arrived.
    """

    status: TestStatus
    stat: bool
    routine_tat_min: int
    stat_tat_min: int | None
    working_days: bool
    ordered_s: float
    collected_s: float | None = None
    status_changed_s: float | None = None
    lost_s: float | None = None
    first_result_s: float | None = None
    last_result_s: float | None = None
    critical_s: float | None = None
    abnormal: bool = False
    last_ack_s: float | None = None
    transit_min: int | None = None
    """Expected transit of the specimen's courier route (None: the policy's default)."""
    picked_up_s: float | None = None
    discrepancy_s: float | None = None
    collect_by_s: float | None = None
    """A timed draw's window close (a series step scheduled at the chair): it must be drawn
    by then, neither flagged before its window nor left until the day's end after it."""

    @property
    def turnaround_min(self) -> int:
        """The promised turnaround for the order's priority, in minutes from collection."""
        if self.stat and self.stat_tat_min is not None:
            return self.stat_tat_min
        return self.routine_tat_min


class Deadline(NamedTuple):
    """A step waited for: raised as a flag once ``due_s`` has passed."""

    reason: FlagReason
    since_s: float
    """When the clock for this step started (collection, pickup, result...)."""
    due_s: float

    @property
    def since(self) -> datetime:
        """``since_s`` as an aware UTC datetime."""
        return from_posix(self.since_s)

    @property
    def due_at(self) -> datetime:
        """``due_s`` as an aware UTC datetime."""
        return from_posix(self.due_s)

    def is_due(self, now_s: float) -> bool:
        """True once the deadline has passed: the step is overdue."""
        return now_s >= self.due_s


# tuple.__new__ skips the named tuples' Python-level __new__: a third of the cost when
# 100,000 tests are evaluated per board load.
_new_tuple = tuple.__new__


def posix(value: datetime) -> float:
    """POSIX seconds of an aware datetime."""
    return ensure_utc(value).timestamp()


def from_posix(seconds: float) -> datetime:
    """Aware UTC datetime of POSIX seconds."""
    return datetime.fromtimestamp(seconds, UTC)


class OverdueEngine:
    """Evaluates tests under one policy; caches calendar arithmetic between tests."""

    def __init__(self, policy: OverduePolicy) -> None:
        self.policy = policy
        self._result_due: dict[tuple[float, int], float] = {}
        self._day_end: dict[int, float] = {}

    def flags(self, state: OrderedTestState, now_s: float) -> tuple[Deadline, ...]:
        """The test's deadlines that have passed at ``now_s``."""
        return tuple(d for d in self.deadlines(state) if d.due_s <= now_s)

    def deadlines(self, state: OrderedTestState) -> tuple[Deadline, ...]:
        """Every pending deadline of ``state`` (empty for a closed test).

        The state alone decides (see :mod:`labdesk.domain.lifecycle` for how a test gets
        there); an open result discrepancy adds its own flag, raised at once.
        """
        found = self._deadlines(state)
        if state.discrepancy_s is None:
            return found
        at = state.discrepancy_s
        return (*found, _new_tuple(Deadline, (FlagReason.RESULT_DISCREPANCY, at, at)))

    def _deadlines(self, state: OrderedTestState) -> tuple[Deadline, ...]:
        p = self.policy
        status = state.status
        changed = state.status_changed_s or state.collected_s or state.ordered_s
        collected = state.collected_s or state.ordered_s
        if status is TestStatus.ORDERED:
            return (
                _new_tuple(
                    Deadline, (FlagReason.NOT_COLLECTED, state.ordered_s, self._collect_due(state))
                ),
            )
        if status is TestStatus.COLLECTED:
            due = collected + 60 * p.pickup_grace_min
            return (_new_tuple(Deadline, (FlagReason.NOT_PICKED_UP, collected, due)),)
        if status is TestStatus.IN_TRANSIT:
            since = state.picked_up_s or changed
            minutes = p.transit_expected_min if state.transit_min is None else state.transit_min
            return (
                _new_tuple(Deadline, (FlagReason.TRANSIT_OVERDUE, since, since + 60 * minutes)),
            )
        if status is TestStatus.LOST:
            # Nobody should wait for a lost tube: raised at once, until it is recollected.
            since = state.lost_s or changed
            return (_new_tuple(Deadline, (FlagReason.LOST, since, since)),)
        if status is TestStatus.RECEIVED:
            return (
                _new_tuple(
                    Deadline, (FlagReason.NOT_RESULTED, collected, self.result_due_s(state))
                ),
            )
        if status is TestStatus.PRELIMINARY:
            since = state.first_result_s or changed
            final = _new_tuple(
                Deadline, (FlagReason.FINAL_OVERDUE, since, self.result_due_s(state))
            )
            critical = self._critical(state)
            return (critical, final) if critical else (final,)
        if status is TestStatus.FINAL:
            critical = self._critical(state)
            if critical:
                return (critical,)
            return self._acknowledgement(state, state.last_result_s or changed, state.abnormal)
        if status is TestStatus.NOT_PERFORMED:
            return self._acknowledgement(state, changed, abnormal=True)
        if status is TestStatus.REJECTED:
            due = changed + 60 * p.recollect_grace_min
            return (_new_tuple(Deadline, (FlagReason.NO_RECOLLECTION, changed, due)),)
        return ()

    def unmatched(self, received_s: float) -> Deadline:
        """A result that matches no order is overdue for matching from the moment it arrives."""
        return _new_tuple(Deadline, (FlagReason.UNMATCHED_RESULT, received_s, received_s))

    def result_due_s(self, state: OrderedTestState) -> float:
        """When the (final) result is due: turnaround from collection, on the calendar."""
        collected = state.collected_s or state.ordered_s
        minutes = state.turnaround_min
        if not state.working_days:
            return collected + 60 * minutes
        key = (collected, minutes)
        due = self._result_due.get(key)
        if due is None:
            due = posix(self.policy.calendar.add(from_posix(collected), minutes))
            self._result_due[key] = due
        return due

    def _collect_due(self, state: OrderedTestState) -> float:
        p = self.policy
        if state.collect_by_s is not None:
            return state.collect_by_s
        if state.stat:
            return state.ordered_s + 60 * p.collect_grace_stat_min
        due = state.ordered_s + 60 * p.collect_grace_min
        if p.collect_same_day:
            due = max(due, self._end_of_day(state.ordered_s))
        return due

    def _end_of_day(self, instant_s: float) -> float:
        bucket = int(instant_s // _LOCAL_DAY_BUCKET_S)
        end = self._day_end.get(bucket)
        if end is None:
            moment = from_posix(bucket * _LOCAL_DAY_BUCKET_S)
            end = posix(end_of_local_day(moment, self.policy.calendar.timezone))
            self._day_end[bucket] = end
        return end

    def _critical(self, state: OrderedTestState) -> Deadline | None:
        critical = state.critical_s
        if critical is None or (state.last_ack_s is not None and state.last_ack_s >= critical):
            return None
        # Raised the moment it is stored: a critical value is acted on now, not in an hour.
        # Its escalation comes at escalation_due_s().
        return _new_tuple(Deadline, (FlagReason.CRITICAL_NOT_ACKNOWLEDGED, critical, critical))

    def escalation_due_s(self, flag: Deadline) -> float:
        """When an unacknowledged critical result goes to the covering clinician."""
        return flag.since_s + 60 * self.policy.critical_ack_min

    def _acknowledgement(
        self, state: OrderedTestState, since: float, abnormal: bool
    ) -> tuple[Deadline, ...]:
        if state.last_ack_s is not None and state.last_ack_s >= since:
            return ()
        hours = self.policy.ack_abnormal_h if abnormal else self.policy.ack_normal_h
        return (_new_tuple(Deadline, (FlagReason.NOT_ACKNOWLEDGED, since, since + 3600 * hours)),)


def worst_urgency(flags: tuple[Deadline, ...]) -> Urgency | None:
    """The most urgent level among ``flags`` (None when there are none)."""
    return min((f.reason.urgency for f in flags), default=None)
