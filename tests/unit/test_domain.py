"""Domain rules: custody transitions, hash chains, name folding, time handling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labdesk.domain.clock import FixedClock, ensure_utc
from labdesk.domain.custody import CustodyEvent, next_status
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import CustodyError, RowProblem
from labdesk.domain.hashchain import GENESIS, canonical, link_hash
from labdesk.domain.patient import fold, name_key
from labdesk.domain.specimen import SpecimenStatus as S
from labdesk.domain.timefmt import format_local


@pytest.mark.parametrize(
    ("current", "kind", "expected"),
    [
        (None, K.COLLECTED, S.COLLECTED),
        (S.COLLECTED, K.LABELLED, S.LABELLED),
        (S.LABELLED, K.LABELLED, S.LABELLED),
        (S.LABELLED, K.VERIFIED, S.VERIFIED),
        (S.VERIFIED, K.PICKED_UP, S.IN_TRANSIT),
        (S.PACKED, K.PICKED_UP, S.IN_TRANSIT),
        (S.IN_TRANSIT, K.RECEIVED, S.RECEIVED),
        (S.RECEIVED, K.REJECTED, S.REJECTED),
        (S.IN_TRANSIT, K.LOST, S.LOST),
        (S.LOST, K.RECOLLECTION_REQUESTED, S.LOST),
        (S.REJECTED, K.RECOLLECTION_REQUESTED, S.REJECTED),
    ],
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_next_status_allowed(current: S | None, kind: K, expected: S) -> None:
    assert next_status(current, kind) is expected


@pytest.mark.parametrize(
    ("current", "kind", "words"),
    [
        (S.COLLECTED, K.PICKED_UP, "Label it"),
        (S.RECEIVED, K.RECEIVED, "received once"),
        (None, K.LABELLED, "not yet collected"),
        (S.COLLECTED, K.VERIFIED, "Print its label"),
        (S.RECEIVED, K.LOST, "received"),
    ],
)
def test_next_status_refused_with_clear_message(current: S | None, kind: K, words: str) -> None:
    with pytest.raises(CustodyError) as info:
        next_status(current, kind)
    assert words in str(info.value)


def _event(**changes: object) -> CustodyEvent:
    at = datetime(2026, 3, 2, 14, tzinfo=UTC)
    fields: dict[str, object] = {
        "specimen_id": 1,
        "seq": 1,
        "kind": K.COLLECTED,
        "actor_id": 7,
        "occurred_at": at,
        "recorded_at": at,
        "location": "CLINIC",
    }
    fields.update(changes)
    return CustodyEvent(**fields)  # type: ignore[arg-type]


def test_link_hash_changes_with_any_field_and_with_previous() -> None:
    base = link_hash(GENESIS, _event().content())
    assert base == link_hash(GENESIS, _event().content())
    assert base != link_hash(GENESIS, _event(note="x").content())
    assert base != link_hash(GENESIS, _event(actor_id=8).content())
    assert base != link_hash("1" * 64, _event().content())


def test_canonical_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        canonical({"at": datetime(2026, 1, 1)})  # noqa: DTZ001 - the point of the test


def test_canonical_is_order_independent() -> None:
    assert canonical({"a": 1, "b": "é"}) == canonical({"b": "é", "a": 1})


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("O'Brien", "O BRIEN"), ("Müller", "MULLER"), ("  garcía-lópez ", "GARCIA LOPEZ"), ("", "")],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_name_key_sorts_family_then_given() -> None:
    assert name_key("Zoë", "Ann") > name_key("Smith", "Zed")
    assert name_key("Smith", "Ann").startswith("SMITH\x1f")
    assert name_key("Smith", "Zed") < name_key("Smith Jones", "Bo") < name_key("Smithson", "Al")


def test_ensure_utc_refuses_naive_and_converts() -> None:
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2026, 1, 1))  # noqa: DTZ001
    eastern = datetime.fromisoformat("2026-01-01T09:00:00-05:00")
    assert ensure_utc(eastern) == datetime(2026, 1, 1, 14, tzinfo=UTC)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 3, 8, 6, tzinfo=UTC))
    first = clock.now()
    assert clock.now() == first
    clock.advance(timedelta(hours=2))
    assert clock.now() - first == timedelta(hours=2)


def test_format_local_across_dst_change() -> None:
    # US DST starts 2026-03-08 at 02:00 local (07:00 UTC).
    before = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    after = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert format_local(before, "America/New_York") == "2026-03-08 01:30"
    assert format_local(after, "America/New_York") == "2026-03-08 03:30"
    assert format_local(None, "America/New_York") == ""


def test_row_problem_text() -> None:
    assert str(RowProblem(4, "loinc", "missing")) == "row 4, loinc: missing"
