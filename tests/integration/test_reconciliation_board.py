"""The results board shows "needs reconciliation" for tests with an open downtime conflict
(issue 12 item 5), on SQLite and PostgreSQL, and drops it once the conflict is resolved."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, update

from labdesk.access import credentials
from labdesk.access.auth import session_of
from labdesk.adapters.orm.downtime import reconciliation_items, replayed_commands
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import OverduePolicy
from labdesk.downtime.reconcile import ConflictRefs, record_conflict
from labdesk.kernel.dto import SignedInUser
from labdesk.results.board import load_board
from labdesk.seed.demo import STATES, seed_demo


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        credentials, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def uow(engine: Engine, clock: FixedClock) -> UnitOfWorkFactory:
    factory = UnitOfWorkFactory(engine)
    with factory() as u:
        ensure_shipped_catalog(u)
        seed_demo(u, clock, patients=len(STATES), seed=5)
        u.commit()
    return factory


def _doctor(uow: UnitOfWorkFactory) -> SignedInUser:
    with uow() as u:
        found = u.people.user_by_username("doctor")
        assert found is not None
        return session_of(found, "STATION-1")


def _flagged(uow: UnitOfWorkFactory, clock: FixedClock) -> set[int]:
    with uow() as u:
        board = load_board(u, clock, _doctor(uow), OverduePolicy(), audit=False)
    return {r.ordered_test_id for r in board.rows if r.needs_reconciliation}


def test_open_conflict_flags_its_test_until_resolved(
    engine: Engine, uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    with uow() as u:
        board = load_board(u, clock, _doctor(uow), OverduePolicy(), audit=False)
    assert board.rows
    assert not any(r.needs_reconciliation for r in board.rows)
    target = board.rows[0].ordered_test_id
    with engine.begin() as conn:
        conn.execute(
            insert(replayed_commands).values(
                idempotency_key="k-board",
                station="DRAW-2",
                seq=1,
                command="CollectSpecimens",
                happened_at=clock.now(),
                synced_at=clock.now(),
                outcome="refused",
                reason=f"Ordered test {target} was already collected.",
            )
        )
    with uow() as u:
        record_conflict(
            u,
            clock,
            idempotency_key="k-board",
            station="DRAW-2",
            command="CollectSpecimens",
            happened_at=clock.now(),
            reason="already collected",
            refs=ConflictRefs(ordered_test_id=target),
        )
        u.commit()
    assert _flagged(uow, clock) == {target}
    with engine.begin() as conn:
        conn.execute(update(reconciliation_items).values(state="resolved"))
    assert _flagged(uow, clock) == set()
