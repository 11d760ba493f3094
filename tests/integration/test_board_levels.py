"""The default board's first page read level by level equals the one sorting statement.

``board_levels.first_page_ids`` must give exactly what ``page_statement`` (checked against
the overdue engine in ``test_board_table``) gives for the urgency order, whatever the
deadlines: the entries' deadlines are rewritten at random, including the rare second
deadline passed before the first, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Engine, text, update

from labdesk.adapters.orm.board import board_entries as e
from labdesk.adapters.repositories import board_levels
from labdesk.adapters.repositories.board import page_statement
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain.board_criteria import Criteria
from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import OverduePolicy, posix
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.results.board import load_board
from labdesk.seed.demo import STATES, seed_demo

pytestmark = pytest.mark.integration

FAR = 1e12
DOCTOR = SignedInUser(id=0, username="doc", display_name="Doc", role=Role.CLINICIAN,
                      initials="D")  # fmt: skip


@pytest.fixture
def uows(engine: Engine, clock: FixedClock) -> UnitOfWorkFactory:
    """The demo clinic's board, loaded once, then given random deadlines."""
    factory = UnitOfWorkFactory(engine)
    with factory() as u:
        ensure_shipped_catalog(u)
        seed_demo(u, clock, patients=2 * len(STATES), seed=5)
        u.commit()
    with factory() as u:
        load_board(u, clock, DOCTOR, OverduePolicy(), audit=False)
    _scramble(engine, posix(clock.now()))
    return factory


REASONS = ("not_collected", "not_acknowledged", "final_overdue")
STATUSES = ("ordered", "collected", "final")
CLINICIANS = ("Dr. A", "Dr. B")


def _deadline(rng: random.Random, now: float) -> tuple[int, float]:
    return rng.choice((1, 2, 3)), now + rng.choice((-3, -2, -1, 0, 1, 2)) * 3600.0


def _scramble(engine: Engine, now: float) -> None:
    """Random deadlines: none, one, or two (d1 the more urgent, either one due first), of
    random reasons (both of one reason too), statuses and clinicians."""
    rng = random.Random(7)
    with engine.begin() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT ordered_test_id FROM board_entries"))]
        for test_id in ids:
            kind = rng.random()
            values: dict[str, object] = {
                "is_open": rng.random() > 0.1,
                "d1_urgency": None, "d1_due": None, "d2_urgency": None, "d2_due": None,
                "d1_reason": None, "d2_reason": None, "status": rng.choice(STATUSES),
                "ordering_provider": rng.choice(CLINICIANS),
            }  # fmt: skip
            if kind > 0.2:
                level, due = _deadline(rng, now)
                values.update(d1_urgency=level, d1_due=due, d1_reason=rng.choice(REASONS))
                if kind > 0.6:
                    second, due2 = _deadline(rng, now)
                    values.update(d2_urgency=max(level, second), d2_due=due2,
                                  d2_reason=rng.choice(REASONS))  # fmt: skip
            if rng.random() < 0.2 and values["d1_due"] is not None:  # ties, broken by id
                values["d1_due"] = round(now)
            dues = [v for v in (values["d1_due"], values["d2_due"]) if v is not None]
            values["sort_due"] = min(dues) if dues else FAR  # type: ignore[type-var]
            conn.execute(update(e).where(e.c.ordered_test_id == test_id).values(**values))


NARROWED = {
    "all-open": {},
    "any-flag": {"any_flag": True},
    "status": {"status": "final"},
    "clinician": {"clinician": "Dr. B"},
    "status-clinician-flagged": {"status": "ordered", "clinician": "Dr. A", "any_flag": True},
    "reason": {"reason": "not_acknowledged"},
    "reason-known-seconds": {"reason": "final_overdue", "second_reasons": frozenset(REASONS)},
    "reason-not-second": {"reason": "not_collected", "second_reasons": frozenset()},
    "reason-status": {"reason": "not_collected", "status": "collected"},
}


@pytest.mark.parametrize("narrowed", NARROWED.values(), ids=NARROWED.keys())
def test_the_first_page_by_level_is_the_sorted_first_page(
    uows: UnitOfWorkFactory, clock: FixedClock, narrowed: dict[str, object]
) -> None:
    now = posix(clock.now())
    checked = 0
    with uows() as u:
        for shift in (-4, -1.5, -0.5, 0, 0.5, 1.5, 4):
            c = Criteria(now_s=now + shift * 3600, sort="urgency", **narrowed)  # type: ignore[arg-type]
            if c.reason is not None and c.second_reasons == frozenset():
                # told no second deadline has the reason: make that true for this check
                u.session.execute(update(e).where(e.c.d2_reason == c.reason).values(d2_reason=None))
            assert board_levels.reads_by_level(c, 0)
            everything = list(u.session.scalars(page_statement(c, 0, 10_000)))
            for limit in (1, 2, 5, 17, len(everything), len(everything) + 5):
                ids = board_levels.first_page_ids(u.session.execute, c, limit)
                assert ids == everything[:limit], (c, limit)
                checked += 1
            page = u.board_table.page(c, 0, 9)
            assert [row[0] for row in page] == everything[:9]
            checked += bool(everything)
    assert checked >= 42


def test_other_pages_orders_and_filters_keep_the_one_statement() -> None:
    base = Criteria(now_s=0.0, sort="urgency")
    assert board_levels.reads_by_level(base, 0)
    assert not board_levels.reads_by_level(base, 200)
    for other in (
        Criteria(now_s=0.0, sort="due"),
        Criteria(now_s=0.0, sort="urgency", descending=True),
        Criteria(now_s=0.0, sort="urgency", include_closed=True),
        Criteria(now_s=0.0, sort="urgency", clinician_id=3),
        Criteria(now_s=0.0, sort="urgency", patient_words=("m0",)),
    ):
        assert not board_levels.reads_by_level(other, 0), other


def test_each_level_reads_an_index_in_due_order_without_sorting_the_board(
    sqlite_engine: Engine,
) -> None:
    c = Criteria(now_s=1000.0, sort="urgency")
    narrowed = Criteria(now_s=1000.0, sort="urgency", status="final", clinician="Dr. A")
    reason = Criteria(now_s=1000.0, sort="urgency", reason="not_acknowledged")
    statements = [
        *board_levels.level_statements(c, 1, 200),
        board_levels.unflagged_statement(c, 200),
        *board_levels.level_statements(narrowed, 2, 200),
        board_levels.unflagged_statement(narrowed, 200),
        *board_levels.reason_level_statements(reason, 3, 200),
    ]
    with sqlite_engine.connect() as conn:
        for statement in statements:
            sql = str(statement.compile(sqlite_engine, compile_kwargs={"literal_binds": True}))
            plan = " | ".join(row[3] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "USING" in plan, plan
            assert "INDEX" in plan, plan
            assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan  # at most the id ties
