"""Regression test for issue 11 item 2: tests of a lost specimen are lost, never "in transit".

They used to stay ``in_transit`` (board: "Overdue in transit") for ever after the lab
reported the tube lost.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.receipt import close_receipt
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.results.board import load_board
from labdesk.results.board_dto import Board
from tests.custody_world import World
from tests.integration.test_custody_receipt import open_it, receive, shipped


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> World:
    return World.build(uow_factory, clock)


def _board(world: World) -> Board:
    with world.uow() as uow:
        return load_board(uow, world.clock, world.users["sam"], OverduePolicy(), audit=False)


def test_missing_tubes_reported_lost_leave_transit_for_good(world: World) -> None:
    number, (came, missing) = shipped(world, 2)
    before = {r.accession: r.status for r in _board(world).rows}
    assert before[missing] is Status.IN_TRANSIT
    open_it(world, number)
    receive(world, number, came)
    with world.uow() as uow:
        close_receipt(uow, world.clock, world.users["lena"], number, report_missing_lost=True)

    rows = {r.accession: r for r in _board(world).rows}
    assert rows[came].status is Status.RECEIVED
    assert rows[missing].status is Status.LOST
    assert [f.reason for f in rows[missing].flags] == [FlagReason.LOST]
    world.clock.advance(timedelta(days=3))
    later = _board(world)
    assert FlagReason.TRANSIT_OVERDUE not in later.counts
    assert later.counts.get(FlagReason.LOST) == 1
