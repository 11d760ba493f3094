"""The board's whole-board totals (open, and with the kept closed tests) match the engine.

``load_board`` counts them as the query's own count when the query is the default one, and
as the open count plus the closed count otherwise (two index reads, not an ``OR`` scan).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain import order
from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import OverduePolicy, from_posix
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.results.board import load_board
from labdesk.results.board_query import BoardQuery
from labdesk.results.board_refresh import KEEP_CLOSED_DAYS
from labdesk.results.overdue import evaluate_rows
from labdesk.seed.demo import STATES, seed_demo

pytestmark = pytest.mark.integration

POLICY = OverduePolicy()
DOCTOR = SignedInUser(id=0, username="doc", display_name="Doc", role=Role.CLINICIAN,
                      initials="D")  # fmt: skip


@pytest.fixture
def uows(engine: Engine, clock: FixedClock) -> UnitOfWorkFactory:
    factory = UnitOfWorkFactory(engine)
    with factory() as u:
        ensure_shipped_catalog(u)
        seed_demo(u, clock, patients=2 * len(STATES), seed=3)
        u.commit()
    return factory


@pytest.mark.parametrize(
    "query",
    [BoardQuery(), BoardQuery(status=order.TestStatus.FINAL), BoardQuery(include_closed=True)],
    ids=["default", "filtered", "with-closed"],
)
def test_whole_board_totals_match_the_engine(
    uows: UnitOfWorkFactory, clock: FixedClock, query: BoardQuery
) -> None:
    with uows() as u:
        board = load_board(u, clock, DOCTOR, POLICY, query, audit=False)
    since = from_posix(board.now_s) - timedelta(days=KEEP_CLOSED_DAYS)
    with uows() as u:
        rows = evaluate_rows(u, POLICY, board.now_s, since)
    open_rows = [r for r in rows if r.status.is_open]
    assert len(open_rows) < len(rows), "the demo keeps acknowledged tests on the board"
    assert board.open_total == len(open_rows)
    assert board.listed_total == len(rows)
    assert board.whole(include_closed=True) == len(rows)
