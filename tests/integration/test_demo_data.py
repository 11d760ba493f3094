"""The demo data is a believable past: nothing after the seed's "now", custody in order.

Issue 11 item 12: the demo had results dated hours into the future (a result three hours
after a collection made twenty minutes ago) and a manifest finished before most of its
items were scanned.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from labdesk.access import credentials
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEvent, CustodyEventKind
from labdesk.domain.manifest import Manifest, ManifestItem
from labdesk.domain.order import Order, OrderedTest
from labdesk.domain.result import Acknowledgement, Result
from labdesk.domain.specimen import Specimen
from labdesk.seed.demo import STATES, seed_demo

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def seeded(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> UnitOfWorkFactory:
    """The demo seeded at ``NOW`` (cheap password hashes: five demo users)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(credentials, "_HASHER", cheap)
    with uow_factory() as uow:
        ensure_shipped_catalog(uow)
        # Three patients per state: several draws of the random visit ages per state.
        seed_demo(uow, FixedClock(NOW), patients=3 * len(STATES), seed=request.param)
        uow.commit()
    return uow_factory


def _late(label: str, values: list[tuple[object, datetime | None]]) -> list[str]:
    return [f"{label} {key}: {at.isoformat()}" for key, at in values if at is not None and at > NOW]


@pytest.mark.parametrize("seeded", [1, 5, 11], indirect=True, ids=lambda s: f"seed{s}")
def test_demo_has_nothing_after_its_now(seeded: UnitOfWorkFactory) -> None:
    with seeded() as uow:
        s = uow.session
        results = s.scalars(select(Result)).all()
        events = s.scalars(select(CustodyEvent)).all()
        late = [
            *_late("result received", [(r.id, r.received_at) for r in results]),
            *_late("result observed", [(r.id, r.observed_at) for r in results]),
            *_late("custody event", [((e.specimen_id, e.seq), e.occurred_at) for e in events]),
            *_late("custody recorded", [((e.specimen_id, e.seq), e.recorded_at) for e in events]),
            *_late(
                "acknowledgement",
                [(a.id, a.acknowledged_at) for a in s.scalars(select(Acknowledgement))],
            ),
            *_late(
                "test status change",
                [(t.id, t.status_changed_at) for t in s.scalars(select(OrderedTest))],
            ),
            *_late("order", [(o.id, o.ordered_at) for o in s.scalars(select(Order))]),
            *_late(
                "specimen status change",
                [(sp.id, sp.status_changed_at) for sp in s.scalars(select(Specimen))],
            ),
        ]
    assert results
    assert events
    assert late == []


@pytest.mark.parametrize("seeded", [1, 5, 11], indirect=True, ids=lambda s: f"seed{s}")
def test_demo_custody_is_in_order(seeded: UnitOfWorkFactory) -> None:
    with seeded() as uow:
        s = uow.session
        by_specimen: dict[int, list[CustodyEvent]] = defaultdict(list)
        for event in s.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)):
            by_specimen[event.specimen_id].append(event)
        manifests = {m.id: m for m in s.scalars(select(Manifest))}
        items = s.scalars(select(ManifestItem)).all()
        results = s.scalars(select(Result)).all()
        acks = s.scalars(select(Acknowledgement)).all()
        tests = {t.id: t for t in s.scalars(select(OrderedTest))}
        assert manifests
        assert items
        for specimen_id, events in by_specimen.items():
            times = [e.occurred_at for e in events]
            assert times == sorted(times), f"specimen {specimen_id}: {[e.kind for e in events]}"
        for item in items:
            manifest = manifests[item.manifest_id]
            assert manifest.finished_at is not None
            assert manifest.started_at <= item.scanned_at <= manifest.finished_at, item.specimen_id
            assert manifest.finished_at <= NOW
            # Scanned onto the manifest when the courier picked the tube up, not before.
            pickups = [
                e.occurred_at
                for e in by_specimen[item.specimen_id]
                if e.kind is CustodyEventKind.PICKED_UP
            ]
            assert pickups
            assert item.scanned_at == pickups[-1]
        received = {
            specimen_id: next(e.occurred_at for e in events if e.kind is CustodyEventKind.RECEIVED)
            for specimen_id, events in by_specimen.items()
            if any(e.kind is CustodyEventKind.RECEIVED for e in events)
        }
        first_result: dict[int, datetime] = {}
        for result in results:
            assert result.specimen_id in received, "a result for a specimen the lab never received"
            assert result.observed_at is not None
            assert received[result.specimen_id] <= result.observed_at <= result.received_at
            assert result.ordered_test_id is not None
            known = first_result.get(result.ordered_test_id, result.received_at)
            first_result[result.ordered_test_id] = min(known, result.received_at)
        for ack in acks:
            assert first_result[ack.ordered_test_id] <= ack.acknowledged_at
            assert tests[ack.ordered_test_id].status_changed_at == ack.acknowledged_at


@pytest.mark.parametrize("seeded", [3], indirect=True, ids=lambda s: f"seed{s}")
def test_demo_test_status_changes_at_a_moment_of_its_history(seeded: UnitOfWorkFactory) -> None:
    """A test's status-change time is a moment of its own history, not a fixed offset."""
    with seeded() as uow:
        s = uow.session
        tests = [t for t in s.scalars(select(OrderedTest)) if t.specimen_id is not None]
        moments: dict[int, set[datetime]] = defaultdict(set)
        for event in s.scalars(select(CustodyEvent)):
            moments[event.specimen_id].add(event.occurred_at)
        for result in s.scalars(select(Result)):
            moments[result.specimen_id or 0].add(result.received_at)
        for ack in s.scalars(select(Acknowledgement)):
            test = s.get(OrderedTest, ack.ordered_test_id)
            assert test is not None
            moments[test.specimen_id or 0].add(ack.acknowledged_at)
        assert tests
        for test in tests:
            assert test.status_changed_at in moments[test.specimen_id or 0], (test.id, test.status)
            assert test.status_changed_at is not None
            assert NOW - test.status_changed_at < timedelta(days=5)
