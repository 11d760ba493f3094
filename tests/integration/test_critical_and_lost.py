"""Regression tests for issue 11 item 1: a critical result is flagged the moment it is stored.

It used to wait an hour (its escalation deadline) before the board, the counts, the filter
and the alarm showed it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.people import Role
from labdesk.results.board import load_board, overdue_tally
from labdesk.results.board_query import BoardQuery, SortKey
from labdesk.results.overdue import escalate_overdue_criticals
from tests.integration.hl7_world import ACC_LAV, ACC_PST, build_world, group, obx, oru

POLICY = OverduePolicy()


@pytest.fixture
def world(engine: Engine, clock: FixedClock):  # type: ignore[no-untyped-def]
    return build_world(engine, clock)


def _board(world, role: Role = Role.CLINICIAN, query: BoardQuery | None = None):  # type: ignore[no-untyped-def]
    with world.uow() as uow:
        return load_board(
            uow, world.clock, world.users[role], POLICY, query or BoardQuery(), audit=False
        )


def _row(board, test_id: int):  # type: ignore[no-untyped-def]
    return next(r for r in board.rows if r.ordered_test_id == test_id)


def test_a_critical_result_is_flagged_the_moment_it_is_stored(world) -> None:  # type: ignore[no-untyped-def]
    # A routine, normal result elsewhere on the board, due long before the critical escalates.
    assert world.ingest(oru("N1", group("HGB", "F", obx("HGB", "13.5"), filler=ACC_LAV)))[0] == "AA"
    ack, _ = world.ingest(
        oru("C1", group("K", "F", obx("K", "7.1", units="mmol/L", flag="HH"), filler=ACC_PST))
    )
    assert ack == "AA"

    board = _board(world, query=BoardQuery(sort=SortKey.URGENCY))
    critical = _row(board, world.tests["K"])
    assert [f.reason for f in critical.flags] == [FlagReason.CRITICAL_NOT_ACKNOWLEDGED]
    assert board.rows[0].ordered_test_id == world.tests["K"]  # sorted above every routine row
    assert board.counts.get(FlagReason.CRITICAL_NOT_ACKNOWLEDGED) == 1
    filtered = _board(world, query=BoardQuery(flag=FlagReason.CRITICAL_NOT_ACKNOWLEDGED))
    assert [r.ordered_test_id for r in filtered.rows] == [world.tests["K"]]
    assert [r.ordered_test_id for r in board.criticals] == [world.tests["K"]]
    with world.uow() as uow:
        _open, tally = overdue_tally(uow, world.clock, POLICY)
    assert tally.get(FlagReason.CRITICAL_NOT_ACKNOWLEDGED) == 1
    # A final normal result awaiting acknowledgement shows as such before it is overdue.
    assert _row(board, world.tests["HGB"]).waiting is FlagReason.NOT_ACKNOWLEDGED


def test_a_critical_escalates_at_its_deadline_not_before(world) -> None:  # type: ignore[no-untyped-def]
    world.ingest(oru("C2", group("K", "F", obx("K", "7.1", flag="HH"), filler=ACC_PST)))
    world.clock.advance(timedelta(minutes=59))
    with world.uow() as uow:
        assert escalate_overdue_criticals(uow, world.clock, POLICY) == []
    world.clock.advance(timedelta(minutes=1))
    with world.uow() as uow:
        sent = escalate_overdue_criticals(uow, world.clock, POLICY)
    assert [s.ordered_test_id for s in sent] == [world.tests["K"]]
    with world.uow() as uow:
        assert escalate_overdue_criticals(uow, world.clock, POLICY) == []  # once


def test_the_board_alarm_lists_criticals_only_for_who_may_sign(world) -> None:  # type: ignore[no-untyped-def]
    world.ingest(oru("C3", group("K", "F", obx("K", "7.1"), filler=ACC_PST)))  # > 6.2 limit
    assert [r.ordered_test_id for r in _board(world).criticals] == [world.tests["K"]]
    # An administrator sees the board but may not sign: no alarm on that board.
    assert _board(world, Role.ADMIN).criticals == ()
