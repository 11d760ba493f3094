"""The life of an ordered test: its states, the events that move it, and the legal moves.

One table, :data:`TEST_TRANSITIONS`, says for every state which events may happen and where
each leads. Every service that changes an ordered test's status (collection, custody scans,
lab receipt and rejection, loss, recollection, HL7 results, acknowledgement, cancellation)
asks :func:`next_test_status`, and the overdue engine derives the board's flags from the
state alone (see :mod:`labdesk.domain.overdue`), so the board cannot disagree with the
model. ``docs/state-model.md`` draws the same table for people.

Two kinds of event:

- *Direct* events name one test (a result, an acknowledgement, a cancellation, a
  recollection): an event the state does not allow is an error (:class:`IllegalTransition`).
- *Specimen* events (pickup, receipt, rejection, loss) reach every test the container
  carries: a test in a state the event does not apply to is left as it is (a cancelled test
  stays cancelled when its tube is picked up; a resulted test stays resulted when the lab
  rejects the tube afterwards), which :func:`follows_specimen` answers.
"""

from __future__ import annotations

from enum import StrEnum

from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import ValidationError
from labdesk.domain.order import TestStatus
from labdesk.domain.specimen import SpecimenStatus


class TestEvent(StrEnum):
    """Everything that can happen to an ordered test."""

    COLLECTED = "collected"
    """Drawn at the chair (the first collection)."""
    PICKED_UP = "picked_up"
    """The courier took its specimen."""
    RECEIVED = "received"
    """The lab scanned its specimen in."""
    REJECTED = "rejected"
    """The lab refused its specimen (coded reason)."""
    LOST = "lost"
    """Its specimen was reported lost (missing at receipt, or lost in transit)."""
    RECOLLECTED = "recollected"
    """Drawn again after a rejection or loss: a new specimen replaces the old one."""
    ADDED_ON = "added_on"
    """Added to a specimen already drawn: the test takes the specimen's state."""
    RESULT_PRELIMINARY = "result_preliminary"
    RESULT_FINAL = "result_final"
    """A final result, or a correction of one (HL7 OBR-25 F/C)."""
    RESULT_RETRACTED = "result_retracted"
    """Every current result withdrawn (OBX-11 W): a result is awaited again."""
    NOT_PERFORMED = "not_performed"
    """The lab will not report it (OBR-25 X)."""
    ACKNOWLEDGED = "acknowledged"
    """A clinician signed the result (or the rejection, loss or non-performance)."""
    CANCELLED = "cancelled"
    DISCREPANCY = "discrepancy"
    """A result arrived for a specimen the lab rejected or reported lost: kept for a person."""
    DISCREPANCY_ACCEPTED = "discrepancy_accepted"
    """A person attached a result the test's state refused (its specimen rejected or lost, or
    the test cancelled): the test awaits that result again, and the result event follows."""


class IllegalTransition(ValidationError):
    """An event that the test's state does not allow."""


S = TestStatus
E = TestEvent

_RESULTS = {
    E.RESULT_PRELIMINARY: S.PRELIMINARY,
    E.RESULT_FINAL: S.FINAL,
    E.RESULT_RETRACTED: S.RECEIVED,
    E.NOT_PERFORMED: S.NOT_PERFORMED,
}
"""Where each result event leads, from every state that accepts results."""

TEST_TRANSITIONS: dict[TestStatus, dict[TestEvent, TestStatus]] = {
    S.ORDERED: {
        E.COLLECTED: S.COLLECTED,
        E.ADDED_ON: S.COLLECTED,  # then the specimen's later events: see added_on_status
        E.CANCELLED: S.CANCELLED,
        # A result for a test never drawn here: the lab drew it (placer order, no tube).
        **_RESULTS,
    },
    S.COLLECTED: {
        E.PICKED_UP: S.IN_TRANSIT,
        E.RECEIVED: S.RECEIVED,
        E.REJECTED: S.REJECTED,
        E.LOST: S.LOST,
        E.CANCELLED: S.CANCELLED,
        **_RESULTS,  # the lab resulted a tube before its receipt scan reached us
    },
    S.IN_TRANSIT: {
        E.RECEIVED: S.RECEIVED,
        E.REJECTED: S.REJECTED,
        E.LOST: S.LOST,
        E.CANCELLED: S.CANCELLED,
        **_RESULTS,
    },
    S.RECEIVED: {
        E.REJECTED: S.REJECTED,
        E.CANCELLED: S.CANCELLED,
        **_RESULTS,
    },
    S.PRELIMINARY: {
        **_RESULTS,
        E.ACKNOWLEDGED: S.PRELIMINARY,  # reviewed; the final result still has to come
    },
    S.FINAL: {**_RESULTS, E.ACKNOWLEDGED: S.ACKNOWLEDGED},
    S.ACKNOWLEDGED: {**_RESULTS},  # a correction reopens the loop
    S.NOT_PERFORMED: {**_RESULTS, E.ACKNOWLEDGED: S.ACKNOWLEDGED},
    S.REJECTED: {
        E.RECOLLECTED: S.COLLECTED,
        E.DISCREPANCY: S.REJECTED,
        E.DISCREPANCY_ACCEPTED: S.RECEIVED,  # a person's decision on the worklist (audited)
        E.ACKNOWLEDGED: S.ACKNOWLEDGED,  # the clinician closes it without a recollection
        E.CANCELLED: S.CANCELLED,
    },
    S.LOST: {
        E.RECOLLECTED: S.COLLECTED,
        E.DISCREPANCY: S.LOST,
        E.DISCREPANCY_ACCEPTED: S.RECEIVED,
        E.ACKNOWLEDGED: S.ACKNOWLEDGED,
        E.CANCELLED: S.CANCELLED,
    },
    # Only a person matching the lab's result to it by hand reopens a cancelled test.
    S.CANCELLED: {E.DISCREPANCY_ACCEPTED: S.RECEIVED},
}
"""``state -> {event: next state}``; an event missing from a state's row is not allowed."""

SPECIMEN_EVENTS: dict[CustodyEventKind, TestEvent] = {
    CustodyEventKind.PICKED_UP: E.PICKED_UP,
    CustodyEventKind.RECEIVED: E.RECEIVED,
    CustodyEventKind.REJECTED: E.REJECTED,
    CustodyEventKind.LOST: E.LOST,
}
"""The custody events that move the tests a specimen carries."""

NEEDS_RECOLLECTION = frozenset({S.REJECTED, S.LOST})
"""States a recollection starts from: the test is planned again at the station."""
AWAITING_RESULT = frozenset({S.COLLECTED, S.IN_TRANSIT, S.RECEIVED})


def allows(status: TestStatus, event: TestEvent) -> bool:
    """True when ``event`` may happen to a test in ``status``."""
    return event in TEST_TRANSITIONS[status]


def next_test_status(status: TestStatus, event: TestEvent) -> TestStatus:
    """The state ``event`` leads to from ``status``.

    Raises:
        IllegalTransition: when the state does not allow the event, with what to do.
    """
    target = TEST_TRANSITIONS[status].get(event)
    if target is None:
        raise IllegalTransition(
            f"A test that is {_words(status)} cannot be {_EVENT_WORDS[event]}.",
            hint=_HINTS.get(event, "Reload and check the test's timeline."),
        )
    return target


def follows_specimen(status: TestStatus, event: TestEvent) -> TestStatus | None:
    """Where a specimen event takes a test it carries, or None when the test stays put."""
    target = TEST_TRANSITIONS[status].get(event)
    return None if target is None or target is status else target


def sources(event: TestEvent) -> tuple[TestStatus, ...]:
    """Every state from which ``event`` moves a test to another state."""
    return tuple(
        status
        for status, row in TEST_TRANSITIONS.items()
        if event in row and row[event] is not status
    )


def result_event(target: TestStatus) -> TestEvent:
    """The result event that leads to ``target`` (what the HL7 semantics computed)."""
    for event, status in _RESULTS.items():
        if status is target:
            return event
    raise ValueError(f"{target} is not reached by a result")


def accepts_result(status: TestStatus) -> bool:
    """True when a result may be applied; False means it is a discrepancy (or cancelled)."""
    return E.RESULT_FINAL in TEST_TRANSITIONS[status]


def added_on_status(specimen_status: SpecimenStatus) -> TestStatus:
    """Where a test added to an already drawn specimen starts, from the specimen's state.

    Raises:
        IllegalTransition: when the specimen was rejected or lost (draw a new one instead).
    """
    target = _ADD_ON.get(specimen_status)
    if target is None:
        raise IllegalTransition(
            f"Cannot add a test to a specimen that is {specimen_status.value.replace('_', ' ')}.",
            hint="Collect a new specimen for the test.",
        )
    return target


_ADD_ON = {
    SpecimenStatus.COLLECTED: S.COLLECTED,
    SpecimenStatus.LABELLED: S.COLLECTED,
    SpecimenStatus.VERIFIED: S.COLLECTED,
    SpecimenStatus.PACKED: S.COLLECTED,
    SpecimenStatus.IN_TRANSIT: S.IN_TRANSIT,
    SpecimenStatus.DELIVERED: S.IN_TRANSIT,
    SpecimenStatus.RECEIVED: S.RECEIVED,
}


def _words(status: TestStatus) -> str:
    return status.value.replace("_", " ")


_EVENT_WORDS = {
    E.COLLECTED: "collected",
    E.PICKED_UP: "picked up",
    E.RECEIVED: "received at the lab",
    E.REJECTED: "rejected",
    E.LOST: "reported lost",
    E.RECOLLECTED: "recollected",
    E.ADDED_ON: "added on",
    E.RESULT_PRELIMINARY: "given a preliminary result",
    E.RESULT_FINAL: "given a final result",
    E.RESULT_RETRACTED: "have its results retracted",
    E.NOT_PERFORMED: "reported not performed",
    E.ACKNOWLEDGED: "acknowledged",
    E.CANCELLED: "cancelled",
    E.DISCREPANCY: "flagged as a result discrepancy",
    E.DISCREPANCY_ACCEPTED: "given a result over the lab's rejection or loss",
}

_HINTS = {
    E.ACKNOWLEDGED: "Acknowledge it once the lab has reported it.",
    E.RECOLLECTED: "Only a rejected or lost test is recollected.",
    E.CANCELLED: "A resulted or closed test cannot be cancelled; acknowledge it instead.",
    E.COLLECTED: "It was collected already; reprint its label if it is missing.",
    E.DISCREPANCY_ACCEPTED: "The test accepts results: match the result to it as usual.",
}
