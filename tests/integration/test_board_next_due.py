"""When the board next changes by time alone (``Board.next_due_s``), on SQLite and PostgreSQL.

An idle board reloads once at that moment instead of polling (``ui/results/page.py``), so
the figure must be exact: before it nothing that time drives has changed (no flag rises,
no critical is due to escalate), at it something has.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from labdesk.access import credentials
from labdesk.access.auth import session_of
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import OverduePolicy, from_posix, posix
from labdesk.kernel.dto import SignedInUser
from labdesk.results.board import due_windows, load_board
from labdesk.results.overdue import escalate_overdue_criticals
from labdesk.seed.demo import STATES, seed_demo

POLICY = OverduePolicy()
STEPS = 8


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
        seed_demo(u, clock, patients=2 * len(STATES), seed=5)
        u.commit()
    return factory


def _doctor(uow: UnitOfWorkFactory) -> SignedInUser:
    with uow() as u:
        found = u.people.user_by_username("doctor")
        assert found is not None
        return session_of(found, "STATION-1")


def _flags(uow: UnitOfWorkFactory, at_s: float) -> dict[str, int]:
    with uow() as u:
        return u.board_table.flag_counts(at_s)


def _escalations(uow: UnitOfWorkFactory, at_s: float) -> int:
    with uow() as u:
        return len(escalate_overdue_criticals(u, FixedClock(from_posix(at_s)), POLICY))


def test_time_changes_nothing_before_next_due_and_something_at_it(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor = _doctor(uow)
    now = clock.now()
    kinds = set()
    for _ in range(STEPS):
        with uow() as u:
            board = load_board(u, FixedClock(now), doctor, POLICY, audit=False)
        due = board.next_due_s
        if due is None:  # every deadline has passed
            assert kinds, "the demo clinic has pending deadlines"
            break
        assert due > board.now_s
        _escalations(uow, board.now_s)  # what was due already is sent now
        just_before = due - 0.001
        assert _flags(uow, just_before) == _flags(uow, board.now_s)
        assert _escalations(uow, just_before) == 0
        raised = _flags(uow, due) != _flags(uow, just_before)
        escalated = _escalations(uow, due) > 0
        assert raised or escalated, f"nothing changed at {from_posix(due)}"
        kinds.add("flag" if raised else "escalation")
        now = from_posix(due)
    assert "flag" in kinds


def test_a_critical_result_is_due_again_when_it_escalates(clock: FixedClock) -> None:
    now_s = posix(clock.now())
    windows = dict((reason, (after, shift)) for reason, after, shift in due_windows(now_s, POLICY))
    after, shift = windows["critical_not_acknowledged"]
    assert shift == 60 * POLICY.critical_ack_min
    assert after == now_s - shift  # a critical stored up to an hour ago escalates later
    assert "lost" not in windows  # flagged at once: nothing to wait for
    assert windows["not_collected"] == (now_s, 0.0)


def test_a_board_with_nothing_pending_says_so(engine: Engine, clock: FixedClock) -> None:
    factory = UnitOfWorkFactory(engine)
    with factory() as u:
        ensure_shipped_catalog(u)
        seed_demo(u, clock, patients=1, seed=1)
        u.commit()
    far = FixedClock(clock.now() + timedelta(days=3650))
    with factory() as u:
        board = load_board(u, far, _doctor(factory), POLICY, audit=False)
    assert board.next_due_s is None
