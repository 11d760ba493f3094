"""Custody rules without a database: transitions, scan outcomes, stability, IDs, hashing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labdesk.adapters.repositories.custody import canonical_row
from labdesk.domain.catalog import TemperatureClass as T
from labdesk.domain.catalog import TestDefinition as Definition
from labdesk.domain.custody import CustodyEvent, next_status
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.errors import CustodyError
from labdesk.domain.hashchain import canonical
from labdesk.domain.manifest import (
    ManifestDocument,
    ManifestLine,
    is_manifest_number,
    make_manifest_number,
    parse_bag_id,
)
from labdesk.domain.recollection import RejectionReason, reason_label
from labdesk.domain.scan_rules import (
    ScanCode,
    Severity,
    describe_duration,
    pickup_refusal,
    severity_of,
    stability_code,
    stability_deadline,
    stability_limit,
)
from labdesk.domain.specimen import SpecimenStatus as S
from labdesk.domain.transit import TransitFlag, transit_flags

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "kind"),
    [
        (S.VERIFIED, K.PACKED),
        (S.DELIVERED, K.RECEIVED),
        (S.IN_TRANSIT, K.DELIVERED),
        (S.IN_TRANSIT, K.REJECTED),
        (S.DELIVERED, K.LOST),
    ],
)
def test_custody_leg_transitions_allowed(current: S, kind: K) -> None:
    next_status(current, kind)


@pytest.mark.parametrize(
    ("current", "kind", "words"),
    [
        (S.LABELLED, K.PICKED_UP, "labelled"),
        (S.IN_TRANSIT, K.PICKED_UP, "in transit"),
        (S.RECEIVED, K.RECEIVED, "received"),
        (S.VERIFIED, K.REJECTED, "on its way"),
        (S.VERIFIED, K.DELIVERED, "picked up"),
        (S.COLLECTED, K.PACKED, "labelled"),
        (S.REJECTED, K.PICKED_UP, "rejected"),
        (S.LOST, K.RECEIVED, "lost"),
    ],
)
def test_illegal_transitions_refused_with_reason(current: S, kind: K, words: str) -> None:
    with pytest.raises(CustodyError) as info:
        next_status(current, kind)
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (S.COLLECTED, ScanCode.NOT_READY),
        (S.LABELLED, ScanCode.NOT_READY),
        (S.IN_TRANSIT, ScanCode.ALREADY_PICKED_UP),
        (S.DELIVERED, ScanCode.AT_LAB),
        (S.RECEIVED, ScanCode.AT_LAB),
        (S.REJECTED, ScanCode.REJECTED),
        (S.LOST, ScanCode.LOST),
        (S.VERIFIED, None),
        (S.PACKED, None),
    ],
)
def test_pickup_refusal_by_status(status: S, expected: ScanCode | None) -> None:
    found = pickup_refusal(
        status,
        specimen_site_id=1,
        manifest_site_id=1,
        specimen_temperature=T.AMBIENT,
        bag_temperature=None,
    )
    assert found is expected


def test_site_then_temperature_are_checked() -> None:
    def refusal(site: int, bag: T | None) -> ScanCode | None:
        return pickup_refusal(
            S.VERIFIED,
            specimen_site_id=site,
            manifest_site_id=1,
            specimen_temperature=T.FROZEN,
            bag_temperature=bag,
        )

    assert refusal(2, T.AMBIENT) is ScanCode.WRONG_SITE
    assert refusal(1, T.AMBIENT) is ScanCode.WRONG_TEMPERATURE
    assert refusal(1, T.FROZEN) is None
    assert refusal(1, None) is None


def _test(code: str, ambient: float | None, cold: float | None) -> Definition:
    return Definition(
        code=code,
        loinc="0-0",
        name=code,
        specimen_type="serum",
        container_code="SST",
        preferred_volume_ml=1,
        minimum_volume_ml=1,
        stability_ambient_h=ambient,
        stability_refrigerated_h=cold,
        stability_frozen_h=None,
        transport_temperature=T.AMBIENT,
        routine_tat_min=60,
        stat_tat_min=None,
    )


def test_stability_is_the_shortest_and_none_means_not_at_that_temperature() -> None:
    tests = [_test("A", 24, 72), _test("B", 2, None)]
    assert stability_limit(tests, T.AMBIENT).hours == 2
    assert stability_limit(tests, T.AMBIENT).test_code == "B"
    assert stability_limit(tests, T.REFRIGERATED).hours == 0
    assert stability_limit([], T.AMBIENT).hours is None


def test_stability_code_against_transit() -> None:
    limit = stability_limit([_test("A", 4, None)], T.AMBIENT)
    deadline = stability_deadline(NOW - timedelta(hours=2), limit)
    assert stability_code(deadline, NOW, 90) is None
    assert stability_code(deadline, NOW, 150) is ScanCode.AT_RISK
    assert stability_code(deadline, NOW + timedelta(hours=2), 10) is ScanCode.BEYOND_STABILITY
    assert stability_code(None, NOW, 90) is None


def test_severities() -> None:
    assert severity_of(ScanCode.ADDED) is Severity.OK
    assert severity_of(ScanCode.ALREADY_ON_MANIFEST) is Severity.INFO
    assert severity_of(ScanCode.AT_RISK) is Severity.WARNING
    assert severity_of(ScanCode.ALREADY_PICKED_UP) is Severity.ERROR


def test_transit_flags() -> None:
    picked = NOW - timedelta(minutes=100)
    assert transit_flags(
        now=NOW, picked_up_at=picked, transit_minutes=90, stability_deadline=None
    ) == (TransitFlag.OVERDUE,)
    assert transit_flags(
        now=NOW, picked_up_at=picked, transit_minutes=120, stability_deadline=NOW
    ) == (TransitFlag.BEYOND_STABILITY,)
    assert (
        transit_flags(now=NOW, picked_up_at=picked, transit_minutes=120, stability_deadline=None)
        == ()
    )


def test_manifest_numbers_are_twelve_checked_digits() -> None:
    number = make_manifest_number(2026, 42)
    assert len(number) == 12
    assert number.startswith("26000000042")
    assert is_manifest_number(number)
    assert not is_manifest_number(number[:-1] + str((int(number[-1]) + 1) % 10))
    assert not is_manifest_number("2600000010")
    with pytest.raises(ValueError, match="serial"):
        make_manifest_number(2026, 0)


def test_bag_ids() -> None:
    bag = parse_bag_id(" bagf12 ")
    assert bag is not None
    assert (bag.code, bag.temperature_class) == ("BAGF12", T.FROZEN)
    assert parse_bag_id("BAGX1") is None
    assert parse_bag_id("2600000014") is None


def test_document_counts_and_bags() -> None:
    lines = tuple(
        ManifestLine(
            accession=f"26{i:08d}", container="LAV", temperature_class=t, site_code="C", bag_id=b
        )
        for i, (t, b) in enumerate([(T.FROZEN, "BAGF1"), (T.AMBIENT, ""), (T.FROZEN, "BAGF1")])
    )
    doc = ManifestDocument(
        number="1",
        site_code="C",
        site_name="C",
        destination="L",
        route="",
        courier="X",
        station_code="",
        started_at="",
        finished_at="",
        printed_at="",
        lines=lines,
    )
    assert doc.counts() == ((T.AMBIENT, 1), (T.FROZEN, 2))
    assert doc.bags() == ("BAGF1",)


def test_reason_labels() -> None:
    assert reason_label("qns").startswith("Quantity not sufficient")
    assert reason_label("lost") == "Lost in transit"
    assert reason_label("free text") == "free text"
    assert len(RejectionReason) == 9
    assert describe_duration(timedelta(minutes=125)) == "2 h 05 min"
    assert describe_duration(timedelta(minutes=-5)) == "0 min"


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_when = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2090, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(
    location=_text,
    note=_text,
    reason=_text,
    ref=_text,
    at=_when,
    recorded=_when,
    seal=st.sampled_from([None, True, False]),
    temperature=st.sampled_from([None, *T]),
    kind=st.sampled_from(list(K)),
    seq=st.integers(1, 10**6),
    ids=st.integers(1, 2**31),
)
def test_fast_canonical_form_equals_the_reference(
    location: str,
    note: str,
    reason: str,
    ref: str,
    at: datetime,
    recorded: datetime,
    seal: bool | None,
    temperature: T | None,
    kind: K,
    seq: int,
    ids: int,
) -> None:
    event = CustodyEvent(
        specimen_id=ids,
        seq=seq,
        kind=kind,
        actor_id=ids + 1,
        occurred_at=at,
        recorded_at=recorded,
        location=location,
        temperature_class=temperature,
        seal_intact=seal,
        container_ref=ref,
        reason=reason,
        note=note,
    )
    reference = canonical(event.content())

    def stored(value: datetime) -> str:  # how SQLAlchemy stores it in SQLite
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

    base = [0, ids, seq, kind.value, ids + 1]
    tail = [location, temperature.value if temperature else None]
    sqlite_row = [
        *base,
        stored(at),
        stored(recorded),
        *tail,
        None if seal is None else int(seal),
        ref,
        reason,
        note,
    ]
    pg_row = [*base, at, recorded, *tail, seal, ref, reason, note]
    assert canonical_row(sqlite_row, sqlite=True) == reference
    assert canonical_row(pg_row, sqlite=False) == reference
