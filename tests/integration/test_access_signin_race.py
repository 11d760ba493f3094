"""Parallel wrong guesses from 8 processes on PostgreSQL: the account still locks in time.

Issue 15: 8 processes guessing at once made 56 guesses in 45 s and the account never
locked, because each attempt read the failure counter and wrote it back (lost updates).
An attempt now holds the account's row lock from the lock/wait check to the counter write.
"""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from access_world import PASSWORD, STATION, build_world
from argon2 import PasswordHasher
from sqlalchemy import Engine

from labdesk.access import credentials
from labdesk.access.auth import authenticate
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import AuthenticationError
from labdesk.domain.signin_policy import MAX_FAILED_ATTEMPTS

PROCESSES = 8
TRIES_PER_PROCESS = 3 * MAX_FAILED_ATTEMPTS  # bounds the run if the account never locks
CLOCK_START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
WRONG = "not the right passphrase at all"
# Real argon2id work per check (about 10 ms), so parallel checks overlap as in production;
# the test-sized hasher of the other tests would make the race window too narrow to matter.
RACE_HASHER = PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1)


def _guess_until_locked(url: str, start: Any, done: Any) -> None:
    """Runs in a spawned process: its own engine; wrong guesses until told it is locked.

    Throttling is switched off here (the progressive wait is zero), so only the lock stands
    between eight processes and unlimited guesses: the harshest case for the counter.
    """
    from labdesk.domain import signin_policy

    signin_policy.FIRST_DELAY = timedelta(0)
    engine = make_engine(url)
    clock = FixedClock(CLOCK_START)
    factory = UnitOfWorkFactory(engine)
    refusals = []
    try:
        start.wait(timeout=60)
        for _ in range(TRIES_PER_PROCESS):
            with factory() as uow:
                try:
                    authenticate(uow, clock, "ana", WRONG, station=STATION)
                except AuthenticationError as exc:
                    refusals.append(exc.message)
                    if exc.message.startswith("Too many failed sign-ins"):
                        break
    finally:
        engine.dispose()
        done.put(refusals)


def test_eight_processes_cannot_guess_past_the_lock_on_postgresql(
    pg_engine: Engine, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(credentials, "_HASHER", RACE_HASHER)
    world = build_world(pg_engine, FixedClock(CLOCK_START))
    ctx = multiprocessing.get_context("spawn")
    start, done = ctx.Barrier(PROCESSES), ctx.Queue()
    workers = [
        ctx.Process(target=_guess_until_locked, args=(pg_url, start, done))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    refusals = [done.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    outcomes = [e.outcome for e in world.audit() if e.action is AuditAction.SIGN_IN]
    checked = outcomes.count("wrong_password") + outcomes.count("locked_now")
    # Every guess whose password was actually checked is counted; the tenth locks.
    assert checked == MAX_FAILED_ATTEMPTS
    assert outcomes.count("locked_now") == 1
    assert all(r[-1].startswith("Too many failed sign-ins") for r in refusals)
    # The account ends locked: even the right password is refused now.
    with world.uow() as uow, pytest.raises(AuthenticationError, match="locked"):
        authenticate(uow, world.clock, "ana", PASSWORD, station=STATION)
    with world.uow() as uow:
        ana = uow.people.user_by_username("ana")
        assert ana is not None
        assert ana.locked_until is not None
        assert ana.locked_until > CLOCK_START
