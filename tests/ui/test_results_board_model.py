"""The board's lazy table model over a fake page reader (no database): paging, cache, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from labdesk.domain import order
from labdesk.domain.errors import StorageError
from labdesk.domain.overdue import Deadline, FlagReason
from labdesk.results.board_dto import (
    ABNORMAL,
    CRITICAL,
    NO_RESULT,
    NORMAL,
    Board,
    BoardPage,
    BoardRow,
)
from labdesk.results.board_query import ANY_FLAG, BoardQuery, SortKey, matches, ordered
from ui.results.board_model import ROW_ROLE, BoardTableModel
from ui.results.board_pages import PageCache
from ui.widgets.table_model import SORT_ROLE

Status = order.TestStatus  # not imported by name: pytest would try to collect Test*
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
NOW_S = NOW.timestamp()
PAGE = 5
ROWS = 23  # five pages, the last one short
SEVERITIES = (NO_RESULT, NORMAL, ABNORMAL, CRITICAL)
FAMILIES = ("Bell", "Okafor", "Abel", "Nguyen")


def make_row(i: int) -> BoardRow:
    """A board row whose fields vary with ``i`` (every third one is overdue)."""
    statuses = (Status.ORDERED, Status.RECEIVED, Status.FINAL)
    flags = (Deadline(FlagReason.NOT_RESULTED, NOW_S - 7200, NOW_S - 60 * i),) if i % 3 else ()
    return BoardRow(
        ordered_test_id=1000 + i,
        order_id=500 + i,
        placer_order_number=f"ORD{i:04d}",
        test_code=("CBC", "BMP", "TSH")[i % 3],
        test_name=("Complete blood count", "Basic metabolic panel", "Thyrotropin")[i % 3],
        status=statuses[i % 3],
        stat=i % 4 == 0,
        ordering_provider=("Dr. Ben Okafor", "Dr. Sam Patel")[i % 2],
        ordering_provider_id=1 + i % 2,
        patient_id=i,
        mrn=f"M{i:06d}",
        patient_name=f"{FAMILIES[i % 4]}, Pat{i}",
        accession=f"26{i:07d}0",
        specimen_status="received",
        ordered_s=NOW_S - 86_400 + i,
        collected_s=None if i % 5 == 0 else NOW_S - 80_000 + i,
        result_s=None,
        severity=SEVERITIES[i % 4],
        due_s=NOW_S - 60 * i if flags else NOW_S + 600 * i,
        flags=flags,
        escalated=False,
        escalated_to_id=None,
        escalated_to="",
    )


class FakeBoard:
    """Answers page reads with the services' reference rules; records every read."""

    def __init__(self, rows: list[BoardRow]) -> None:
        self.rows = rows
        self.reads: list[tuple[BoardQuery, int, int, bool]] = []
        self.fail: Exception | None = None

    def fetch(self, query: BoardQuery, offset: int, limit: int, with_total: bool) -> BoardPage:
        self.reads.append((query, offset, limit, with_total))
        if self.fail is not None:
            raise self.fail
        picked = ordered(query, (r for r in self.rows if matches(query, r)))
        return BoardPage(
            offset, picked[offset : offset + limit], len(picked) if with_total else None
        )

    def board(self, query: BoardQuery = BoardQuery(), page_size: int = PAGE) -> Board:  # noqa: B008
        first = self.fetch(query, 0, page_size, True)
        self.reads.clear()
        return Board(
            rows=first.rows,
            counts={},
            unmatched_results=0,
            loaded_at=NOW,
            marker=(1,),
            total=first.total or 0,
            query=query,
            clinicians=(),
        )


@pytest.fixture
def fake() -> FakeBoard:
    return FakeBoard([make_row(i) for i in range(ROWS)])


@pytest.fixture
def model(fake: FakeBoard) -> BoardTableModel:
    model = BoardTableModel("America/New_York", fake.fetch, page_size=PAGE, max_pages=3)
    model.set_board(fake.board())
    return model


def shown(model: BoardTableModel) -> list[BoardRow]:
    rows = [model.data(model.index(i, 0), ROW_ROLE) for i in range(model.rowCount())]
    assert all(isinstance(r, BoardRow) for r in rows)
    return rows


def test_lazy_model_passes_qt_model_checks(
    qtmodeltester: ModelTester, model: BoardTableModel, fake: FakeBoard
) -> None:
    qtmodeltester.check(model)
    shown(model)  # every page read through a cache smaller than the board
    qtmodeltester.check(model)
    assert {offset for _q, offset, _limit, _total in fake.reads} >= {5, 10, 15, 20}
    model.sort(2, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(model)
    assert model.set_query(model.query.but(flag=ANY_FLAG))
    assert PAGE < model.rowCount() < ROWS
    shown(model)
    qtmodeltester.check(model)
    assert model.set_query(BoardQuery(text="no such words"))
    assert model.rowCount() == 0
    qtmodeltester.check(model)


def test_set_board_installs_the_first_page_without_reading(
    model: BoardTableModel, fake: FakeBoard
) -> None:
    assert model.rowCount() == ROWS
    assert model.now_s == NOW_S
    assert [p for p, _row in model.rows_loaded()] == list(range(PAGE))
    assert model.data(model.index(PAGE - 1, 3)) == fake.board().rows[PAGE - 1].mrn
    assert fake.reads == []


def test_reading_a_row_of_an_uncached_page_fetches_that_page(
    model: BoardTableModel, fake: FakeBoard
) -> None:
    assert model.row_at(17, fetch=False) is None
    expected = ordered(BoardQuery(), fake.rows)[17]
    assert model.data(model.index(17, 0), ROW_ROLE) == expected
    assert fake.reads == [(BoardQuery(), 15, PAGE, False)]  # one bounded read, no count
    model.data(model.index(19, 4))
    assert len(fake.reads) == 1  # same page: cached
    assert model.row_at(17, fetch=False) == expected


def test_every_row_reads_like_the_reference_order(model: BoardTableModel, fake: FakeBoard) -> None:
    assert shown(model) == ordered(BoardQuery(), fake.rows)


def test_page_cache_is_bounded(model: BoardTableModel, fake: FakeBoard) -> None:
    shown(model)  # five pages through a three-page cache
    assert len(model.rows_loaded()) <= 3 * PAGE
    assert len(fake.reads) == 4


def test_set_query_reads_the_first_page_with_its_count(
    model: BoardTableModel, fake: FakeBoard, qtbot: QtBot
) -> None:
    wanted = BoardQuery(status=Status.FINAL)
    with qtbot.waitSignals([model.modelReset, model.query_changed]):
        assert model.set_query(wanted)
    assert fake.reads == [(wanted, 0, PAGE, True)]
    assert model.query == wanted
    assert shown(model) == [r for r in ordered(wanted, fake.rows) if r.status is Status.FINAL]
    fake.reads.clear()
    assert model.set_query(wanted)  # unchanged: nothing read
    assert fake.reads == []


def test_set_query_before_a_board_only_keeps_the_query(fake: FakeBoard) -> None:
    model = BoardTableModel("America/New_York", fake.fetch, page_size=PAGE)
    assert model.set_query(BoardQuery(text="bell"))
    assert model.query == BoardQuery(text="bell")
    assert model.rowCount() == 0
    assert fake.reads == []


COLUMN_KEYS = (
    SortKey.URGENCY,  # Flags: most urgent flag, then due time (as before the lazy model)
    SortKey.DUE,
    SortKey.PATIENT,
    SortKey.MRN,
    SortKey.TEST,
    SortKey.STATUS,
    SortKey.RESULT,
    SortKey.PRIORITY,
    SortKey.CLINICIAN,
    SortKey.ORDERED,
    SortKey.COLLECTED,
    SortKey.ACCESSION,
)


@pytest.mark.parametrize(("column", "key"), list(enumerate(COLUMN_KEYS)))
def test_sorting_a_column_queries_its_key(
    model: BoardTableModel, fake: FakeBoard, column: int, key: SortKey
) -> None:
    model.sort(column, Qt.SortOrder.DescendingOrder)
    assert (model.query.sort, model.query.descending) == (key, True)
    assert model.column_of(key) == column
    values = [model.data(model.index(i, column), SORT_ROLE) for i in range(model.rowCount())]
    assert values == sorted(values, reverse=True)


def test_a_failed_query_keeps_the_rows_and_says_why(
    model: BoardTableModel, fake: FakeBoard, qtbot: QtBot
) -> None:
    before = shown(model)
    fake.fail = StorageError("The database is unreachable.")
    with qtbot.waitSignal(model.fetch_failed) as failed:
        assert not model.set_query(BoardQuery(flag=ANY_FLAG))
    assert failed.args == [fake.fail]
    assert model.query == BoardQuery()
    assert model.rowCount() == ROWS
    fake.fail = None
    assert [model.row_at(p, fetch=False) for p, _r in model.rows_loaded()] == [
        before[p] for p, _r in model.rows_loaded()
    ]


def test_a_failed_page_read_shows_empty_cells_and_reports_after_painting(
    model: BoardTableModel, fake: FakeBoard, qtbot: QtBot
) -> None:
    fake.fail = StorageError("The database is unreachable.")
    reported: list[Exception] = []
    model.fetch_failed.connect(reported.append)
    assert model.data(model.index(12, 0)) is None
    assert model.data(model.index(13, 1)) is None
    assert reported == []  # queued: never from inside a paint
    qtbot.waitUntil(lambda: reported == [fake.fail])
    assert len(fake.reads) == 1  # the failed page is not read again on every cell
    fake.fail = None
    model.set_query(BoardQuery(status=Status.RECEIVED))  # a new query tries again
    assert model.data(model.index(model.rowCount() - 1, 0), ROW_ROLE) is not None
    QCoreApplication.processEvents()
    assert len(reported) == 1


def test_a_bug_in_the_reader_is_reported_not_raised(
    model: BoardTableModel, fake: FakeBoard, qtbot: QtBot
) -> None:
    fake.fail = RuntimeError("boom")
    with qtbot.waitSignal(model.fetch_failed):
        assert model.data(model.index(ROWS - 1, 0)) is None


def test_rows_in_reads_each_run_of_missing_pages_once(
    model: BoardTableModel, fake: FakeBoard
) -> None:
    rows = model.rows_in(3, ROWS + 10)
    assert rows == ordered(BoardQuery(), fake.rows)[3:]
    assert fake.reads == [(BoardQuery(), PAGE, 4 * PAGE, False)]
    fake.fail = StorageError("gone")
    with pytest.raises(StorageError):
        model.rows_in(0, ROWS - 1)  # the cache holds three pages: two must be read


def test_a_first_page_shorter_than_a_page_is_read_again(fake: FakeBoard) -> None:
    model = BoardTableModel("America/New_York", fake.fetch, page_size=PAGE)
    model.set_board(fake.board(page_size=3))  # the load read fewer rows than a page
    assert model.rows_loaded() == []
    assert model.row_at(4) == ordered(BoardQuery(), fake.rows)[4]
    assert fake.reads == [(BoardQuery(), 0, PAGE, False)]


def test_page_cache_keeps_the_last_short_page_only() -> None:
    cache = PageCache(page_size=4, max_pages=10)
    rows = [make_row(i) for i in range(10)]
    cache.store_span(0, rows, total=10)
    assert sorted(p for p in range(3) if p in cache) == [0, 1, 2]
    cache.clear()
    cache.store_span(0, rows, total=50)
    assert sorted(p for p in range(3) if p in cache) == [0, 1]
    with pytest.raises(ValueError, match="page boundary"):
        cache.store_span(3, rows, total=50)


def test_due_column_counts_from_the_load(model: BoardTableModel) -> None:
    overdue = next(p for p, r in model.rows_loaded() if r.flags)
    assert model.data(model.index(overdue, 1)).startswith("overdue")
    assert model.data(model.index(overdue, 0), Qt.ItemDataRole.ForegroundRole) is not None
    assert "due" in model.data(model.index(overdue, 0), Qt.ItemDataRole.ToolTipRole)
