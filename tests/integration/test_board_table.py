"""The precomputed board table against the overdue engine, on SQLite and PostgreSQL.

The oracle is the engine evaluated from scratch (``evaluate_rows``) filtered and sorted by
the plain-Python rules of :mod:`labdesk.results.board_query`: after any change, a refreshed
board must read exactly what the oracle gives, for every filter and every sort.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select, text

from labdesk.access import credentials
from labdesk.access.auth import session_of
from labdesk.adapters.board_triggers import TRIGGER_NAMES
from labdesk.adapters.orm.board import board_dirty, board_entries
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain import order
from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import FlagReason, OverduePolicy, from_posix, posix
from labdesk.domain.result import AckMeaning
from labdesk.kernel.dto import SignedInUser
from labdesk.results.acknowledge import acknowledge_results
from labdesk.results.board import load_board, matching_rows, query_board
from labdesk.results.board_dto import BoardRow
from labdesk.results.board_query import ANY_FLAG, BoardQuery, SortKey, matches, ordered
from labdesk.results.board_refresh import KEEP_CLOSED_DAYS, rebuild_board, refresh_board
from labdesk.results.overdue import evaluate_rows
from labdesk.seed.demo import STATES, seed_demo

POLICY = OverduePolicy()
Status = order.TestStatus  # not imported by name: pytest would try to collect Test*


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
        seed_demo(u, clock, patients=3 * len(STATES), seed=11)
        u.commit()
    return factory


def doctor(uow: UnitOfWorkFactory) -> SignedInUser:
    with uow() as u:
        found = u.people.user_by_username("doctor")
        assert found is not None
        return session_of(found, "STATION-1")


def oracle(uow: UnitOfWorkFactory, query: BoardQuery, now_s: float) -> list[BoardRow]:
    since = from_posix(now_s) - timedelta(days=KEEP_CLOSED_DAYS)
    with uow() as u:
        rows = evaluate_rows(u, POLICY, now_s, since)
    plain = [r._replace(status_changed_s=None) for r in rows]
    return ordered(query, (r for r in plain if matches(query, r)))


def read(uow: UnitOfWorkFactory, query: BoardQuery, now_s: float) -> list[BoardRow]:
    with uow() as u:
        return matching_rows(u, doctor(uow), query, now_s)


def same(a: list[BoardRow], b: list[BoardRow]) -> None:
    assert [r.ordered_test_id for r in a] == [r.ordered_test_id for r in b]
    for x, y in zip(a, b, strict=True):
        assert x._replace(flags=frozenset(x.flags)) == y._replace(flags=frozenset(y.flags))


def queries(uow: UnitOfWorkFactory) -> list[BoardQuery]:
    with uow() as u:
        tests = evaluate_rows(u, POLICY, 0.0)
    sample = tests[len(tests) // 2]
    family = sample.patient_name.split(",")[0]
    found: list[BoardQuery] = [BoardQuery(), BoardQuery(include_closed=True)]
    found += [BoardQuery(status=s) for s in Status]
    found += [BoardQuery(flag=r) for r in FlagReason] + [BoardQuery(flag=ANY_FLAG)]
    found += [
        BoardQuery(text=family[:3]),
        BoardQuery(text=f"{family[:2]} {sample.test_code[:2]}"),
        BoardQuery(text=sample.accession[:6]),
        BoardQuery(text=sample.placer_order_number[:4].lower()),
        BoardQuery(text=sample.test_name.split()[-1][:4]),
        BoardQuery(text=sample.ordering_provider.split()[-1][:3].upper()),
        BoardQuery(text="zzzz-nothing"),
        BoardQuery(patient=sample.mrn[:5]),
        BoardQuery(patient=family.upper()),
        BoardQuery(clinician=sample.ordering_provider),
        BoardQuery(clinician_id=sample.ordering_provider_id),
        BoardQuery(flag=ANY_FLAG, text=family[:1], include_closed=True),
    ]
    for key in SortKey:
        found += [BoardQuery(sort=key), BoardQuery(sort=key, descending=True, include_closed=True)]
    return found


def test_every_query_reads_what_the_engine_says(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    with uow() as u:
        board = load_board(u, clock, doctor(uow), POLICY, audit=False)
    now_s = board.now_s
    for query in queries(uow):
        expected = oracle(uow, query, now_s)
        same(read(uow, query, now_s), expected)
        with uow() as u:
            page = query_board(u, doctor(uow), query, now_s, offset=3, limit=5)
        assert page.total == len(expected), query
        assert [r.ordered_test_id for r in page.rows] == [
            r.ordered_test_id for r in expected[3:8]
        ], query


def test_counts_and_first_page_match_the_engine(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    with uow() as u:
        board = load_board(u, clock, doctor(uow), POLICY, BoardQuery(sort=SortKey.URGENCY))
    expected = oracle(uow, BoardQuery(sort=SortKey.URGENCY), board.now_s)
    same(board.rows, expected[: len(board.rows)])
    assert board.total == len(expected)
    counts: dict[FlagReason, int] = {}
    for row in expected:
        for reason in row.reasons:
            counts[reason] = counts.get(reason, 0) + 1
    assert {k: v for k, v in board.counts.items() if k is not FlagReason.UNMATCHED_RESULT} == (
        counts
    )
    assert sorted(board.clinicians) == sorted({r.ordering_provider for r in expected})


def test_flags_rise_as_time_passes_without_any_write(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    with uow() as u:
        load_board(u, clock, doctor(uow), POLICY, audit=False)
    later = FixedClock(clock.now() + timedelta(days=2))
    with uow() as u:
        outcome = refresh_board(u, later, POLICY)
    assert outcome.version is None  # nothing changed: nothing written
    with uow() as u:
        board = load_board(u, later, doctor(uow), POLICY, BoardQuery(flag=ANY_FLAG), audit=False)
    expected = oracle(uow, BoardQuery(flag=ANY_FLAG), board.now_s)
    with uow() as u:
        same(matching_rows(u, doctor(uow), BoardQuery(flag=ANY_FLAG), board.now_s), expected)
    before = oracle(uow, BoardQuery(flag=ANY_FLAG), posix(clock.now()))
    assert len(expected) > len(before)


def test_changes_through_services_and_sql_reach_the_board(
    uow: UnitOfWorkFactory, clock: FixedClock, engine: Engine
) -> None:
    with uow() as u:
        board = load_board(u, clock, doctor(uow), POLICY, audit=False)
    finals = [r for r in read(uow, BoardQuery(status=Status.FINAL), board.now_s)]
    with uow() as u:
        acknowledge_results(
            u, clock, doctor(uow), [finals[0].ordered_test_id], AckMeaning.REVIEWED, ""
        )
    collected = read(uow, BoardQuery(status=Status.COLLECTED), board.now_s)[0]
    with engine.begin() as conn:  # writes no service makes: the triggers still see them
        conn.execute(
            text("UPDATE patients SET family_name = 'Renamed' WHERE id = :p"),
            {"p": collected.patient_id},
        )
        conn.execute(
            text("UPDATE orders SET priority = 'S' WHERE id = :o"), {"o": collected.order_id}
        )
    with uow() as u:
        assert u.board_table.has_dirty()
    with uow() as u:
        outcome = refresh_board(u, clock, POLICY)
    assert outcome.updated >= 2
    assert not outcome.rebuilt
    for query in (BoardQuery(), BoardQuery(include_closed=True), BoardQuery(text="renamed")):
        same(read(uow, query, board.now_s), oracle(uow, query, board.now_s))
    renamed = read(uow, BoardQuery(text="renamed"), board.now_s)
    assert renamed
    assert all(r.patient_name.startswith("Renamed,") for r in renamed)


def test_every_trigger_is_installed(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'board_dirty_%'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'board_dirty_%'"
    with engine.connect() as conn:
        names = {row[0] for row in conn.execute(text(sql))}
    assert names == set(TRIGGER_NAMES)


def test_a_new_policy_rebuilds_every_entry(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    with uow() as u:
        load_board(u, clock, doctor(uow), POLICY, audit=False)
    stricter = OverduePolicy(pickup_grace_min=5, ack_normal_h=1)
    with uow() as u:
        outcome = refresh_board(u, clock, stricter)
    assert outcome.rebuilt
    now_s = posix(clock.now())
    with uow() as u:
        rows = evaluate_rows(u, stricter, now_s)
    with uow() as u:
        board = matching_rows(u, doctor(uow), BoardQuery(flag=ANY_FLAG), now_s)
    assert sorted(r.ordered_test_id for r in board) == sorted(
        r.ordered_test_id for r in rows if r.flags
    )
    with uow() as u:
        again = rebuild_board(u, clock, stricter)
    assert again.rebuilt
    assert again.updated == outcome.updated


def test_concurrent_refreshes_write_each_entry_once(
    uow: UnitOfWorkFactory, clock: FixedClock, engine: Engine
) -> None:
    with uow() as u:
        load_board(u, clock, doctor(uow), POLICY, audit=False)
    with engine.begin() as conn:
        conn.execute(text("UPDATE ordered_tests SET status_changed_at = status_changed_at"))
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            with uow() as u:
                refresh_board(u, clock, POLICY)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(board_dirty)) == 0
        entries = conn.scalar(select(func.count()).select_from(board_entries))
    now_s = posix(clock.now())
    assert entries == len(oracle(uow, BoardQuery(include_closed=True), now_s))
    same(read(uow, BoardQuery(), now_s), oracle(uow, BoardQuery(), now_s))


def test_acknowledged_tests_leave_the_board_after_the_keep_period(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    with uow() as u:
        board = load_board(u, clock, doctor(uow), POLICY, BoardQuery(include_closed=True))
    closed = [r for r in board.rows if not r.status.is_open]
    assert closed, "the demo has acknowledged tests"
    much_later = FixedClock(clock.now() + timedelta(days=KEEP_CLOSED_DAYS + 30))
    query = BoardQuery(include_closed=True)
    now_s = posix(much_later.now())
    assert all(r.status.is_open for r in read(uow, query, now_s))


def _open_counts(engine: Engine) -> tuple[int | None, int]:
    """``(count the board keeps, open entries counted)``."""
    with engine.connect() as conn:
        kept = conn.scalar(text("SELECT open_entries FROM board_state"))
        counted = conn.scalar(
            select(func.count()).select_from(board_entries).where(board_entries.c.is_open)
        )
    return kept, int(counted or 0)


def test_the_kept_open_count_follows_every_refresh(
    uow: UnitOfWorkFactory, clock: FixedClock, engine: Engine
) -> None:
    """The unfiltered board's count is kept by the refresh's writes, not counted: after a
    rebuild, a closing acknowledgement, a cancel made in SQL, concurrent refreshes, a new
    policy and the keep period's purge it still equals the open entries."""
    with uow() as u:
        board = load_board(u, clock, doctor(uow), POLICY, audit=False)
    kept, counted = _open_counts(engine)
    assert kept == counted == board.open_total == board.total > 0
    finals = read(uow, BoardQuery(status=Status.FINAL), board.now_s)
    with uow() as u:
        acknowledge_results(
            u, clock, doctor(uow), [finals[0].ordered_test_id], AckMeaning.REVIEWED, ""
        )
    waiting = read(uow, BoardQuery(status=Status.ORDERED), board.now_s)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ordered_tests SET status = 'cancelled' WHERE id = :t"),
            {"t": waiting[0].ordered_test_id},
        )
    with uow() as u:
        refresh_board(u, clock, POLICY)
    kept, counted = _open_counts(engine)
    assert kept == counted == board.total - 2
    with engine.begin() as conn:
        conn.execute(text("UPDATE ordered_tests SET status_changed_at = status_changed_at"))

    def refresh() -> None:
        with uow() as u:
            refresh_board(u, clock, POLICY)

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _open_counts(engine) == (counted, counted)
    later = FixedClock(clock.now() + timedelta(days=KEEP_CLOSED_DAYS + 30))
    for step in (OverduePolicy(pickup_grace_min=5), POLICY):
        with uow() as u:
            refresh_board(u, later, step)
        assert _open_counts(engine) == (counted, counted)
    with uow() as u:
        page = query_board(u, doctor(uow), BoardQuery(sort=SortKey.PATIENT), board.now_s)
    assert page.total == counted


def test_an_unknown_kept_count_is_counted_and_a_known_one_is_read(
    uow: UnitOfWorkFactory, clock: FixedClock, engine: Engine
) -> None:
    actor = doctor(uow)
    with uow() as u:
        board = load_board(u, clock, actor, POLICY, audit=False)
    finals = len(oracle(uow, BoardQuery(status=Status.FINAL), board.now_s))
    for kept, total in ((None, board.total), (7, 7)):  # 7: proves the row is what is read
        with engine.begin() as conn:
            conn.execute(text("UPDATE board_state SET open_entries = :n"), {"n": kept})
        with uow() as u:
            assert query_board(u, actor, BoardQuery(), board.now_s).total == total
            filtered = query_board(u, actor, BoardQuery(status=Status.FINAL), board.now_s)
        assert filtered.total == finals
