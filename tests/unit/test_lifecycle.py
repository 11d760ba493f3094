"""The ordered-test state model: its table, its two kinds of event, and its documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from labdesk.domain import lifecycle
from labdesk.domain.custody import TRANSITIONS as CUSTODY
from labdesk.domain.lifecycle import TEST_TRANSITIONS, IllegalTransition
from labdesk.domain.lifecycle import TestEvent as Event
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.specimen import SpecimenStatus

DOC = Path(__file__).resolve().parents[2] / "docs" / "state-model.md"


def test_every_state_has_a_row_and_only_cancellation_is_final() -> None:
    assert set(TEST_TRANSITIONS) == set(Status)
    assert all(TEST_TRANSITIONS[s] for s in Status if s is not Status.CANCELLED)


def test_a_direct_event_the_state_refuses_says_what_to_do() -> None:
    with pytest.raises(IllegalTransition) as info:
        lifecycle.next_test_status(Status.RECEIVED, Event.ACKNOWLEDGED)
    assert "received" in info.value.message
    assert info.value.hint


def test_specimen_events_leave_tests_they_do_not_apply_to() -> None:
    assert lifecycle.follows_specimen(Status.FINAL, Event.REJECTED) is None
    assert lifecycle.follows_specimen(Status.CANCELLED, Event.PICKED_UP) is None
    assert lifecycle.follows_specimen(Status.IN_TRANSIT, Event.LOST) is Status.LOST
    assert set(lifecycle.sources(Event.LOST)) == {Status.COLLECTED, Status.IN_TRANSIT}


def test_nothing_leaves_a_lost_test_in_transit() -> None:
    for event in Event:
        target = TEST_TRANSITIONS[Status.LOST].get(event)
        assert target is not Status.IN_TRANSIT


def test_rejected_and_lost_tests_refuse_results_and_are_recollected() -> None:
    for status in lifecycle.NEEDS_RECOLLECTION:
        assert not lifecycle.accepts_result(status)
        assert lifecycle.next_test_status(status, Event.RECOLLECTED) is Status.COLLECTED
    assert lifecycle.accepts_result(Status.RECEIVED)


def test_add_on_starts_in_the_specimens_state() -> None:
    assert lifecycle.added_on_status(SpecimenStatus.DELIVERED) is Status.IN_TRANSIT
    assert lifecycle.added_on_status(SpecimenStatus.RECEIVED) is Status.RECEIVED
    with pytest.raises(IllegalTransition):
        lifecycle.added_on_status(SpecimenStatus.REJECTED)


def test_every_custody_event_that_moves_tests_is_a_specimen_event() -> None:
    assert set(lifecycle.SPECIMEN_EVENTS) <= set(CUSTODY)


def _table() -> list[str]:
    return [
        f"| `{status.value}` | "
        + (", ".join(f"{e.value} → {t.value}" for e, t in row.items()) or "— (final)")
        + " |"
        for status, row in TEST_TRANSITIONS.items()
    ]


def test_the_documented_table_is_the_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- transitions:")
    end = text.index("<!-- /transitions -->")
    documented = [line for line in text[start:end].splitlines() if line.startswith("| `")]
    assert documented == _table(), "docs/state-model.md is stale; its table should read:\n" + (
        "\n".join(_table())
    )
