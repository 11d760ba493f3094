"""The clinician results board page: lazy model on a database, queries, sign-off, export."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtWidgets import QFileDialog, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from labdesk.access import credentials
from labdesk.access.auth import session_of
from labdesk.bootstrap import Core, bootstrap
from labdesk.config import Config
from labdesk.domain import order
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import StorageError
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.result import AbnormalFlag, AckMeaning, Result, ResultStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.results.board_dto import NORMAL, BoardPage, BoardRow
from labdesk.results.board_query import ANY_FLAG, BoardQuery, SortKey, search_words
from labdesk.results.overdue_settings import OverdueSettings
from labdesk.seed.demo import STATES, seed_demo
from ui.app import context_of
from ui.results import dialogs
from ui.results.board_model import ROW_ROLE
from ui.results.detail_models import CustodyLineModel, ResultLineModel, SignatureModel
from ui.results.page import ResultsPage
from ui.tasks import wait_for_background_jobs
from ui.widgets.table_model import SORT_ROLE

Status = order.TestStatus  # not imported by name: pytest would try to collect Test*
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SETTINGS = OverdueSettings(OverduePolicy())
SMALL_PAGE = 7


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the demo's patients in every state, built once."""
    folder = tmp_path_factory.mktemp("board")
    path = folder / "demo.sqlite3"
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    original, credentials._HASHER = credentials._HASHER, cheap  # type: ignore[attr-defined]
    try:
        core = bootstrap(Config(database_url=f"sqlite:///{path}", data_dir=folder))
        with core.uow() as uow:
            seed_demo(uow, FixedClock(NOW), patients=3 * len(STATES), seed=5)
            uow.commit()
        core.close()
    finally:
        credentials._HASHER = original  # type: ignore[attr-defined]
    return path


@pytest.fixture
def board_core(demo_file: Path, tmp_path: Path) -> Iterator[Core]:
    copy = tmp_path / "board.sqlite3"
    shutil.copyfile(demo_file, copy)
    clock = FixedClock(NOW)
    core = bootstrap(Config(database_url=f"sqlite:///{copy}", data_dir=tmp_path), clock=clock)
    yield core
    wait_for_background_jobs()
    core.close()


def signed_in(core: Core, username: str) -> SignedInUser:
    with core.uow() as uow:
        user = uow.people.user_by_username(username)
        assert user is not None
        return session_of(user, "STATION-1")


@pytest.fixture
def page(qtbot: QtBot, board_core: Core) -> ResultsPage:
    widget = ResultsPage(context_of(board_core), signed_in(board_core, "doctor"), settings=SETTINGS)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.poll_timer.stop()  # tests drive polling themselves
    with qtbot.waitSignal(widget.board_loaded, timeout=10_000):
        pass
    return widget


@pytest.fixture
def paged(qtbot: QtBot, board_core: Core) -> ResultsPage:
    """The page reading the board seven rows at a time: several pages on the demo's rows."""
    widget = ResultsPage(
        context_of(board_core),
        signed_in(board_core, "doctor"),
        settings=SETTINGS,
        page_size=SMALL_PAGE,
    )
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.poll_timer.stop()
    with qtbot.waitSignal(widget.board_loaded, timeout=10_000):
        pass
    return widget


def rows_of(page: ResultsPage) -> list[BoardRow]:
    """Every row the board's query matches, in order (pages read as needed)."""
    return page.model.rows_in(0, page.model.rowCount() - 1)


def select(page: ResultsPage, predicate: Callable[[BoardRow], bool], limit: int = 1) -> list[int]:
    page.table.clearSelection()
    chosen = []
    for position, row in enumerate(rows_of(page)):
        if predicate(row) and len(chosen) < limit:
            page.table.selectRow(position)
            chosen.append(row.ordered_test_id)
    return chosen


def accept_dialogs(monkeypatch: pytest.MonkeyPatch, meaning: AckMeaning, note: str) -> None:
    def fake_exec(self: dialogs.AcknowledgeDialog) -> int:
        self.meaning.setCurrentIndex(self.meaning.findData(meaning))
        self.note.setPlainText(note)
        self._accept()
        return int(self.result())

    monkeypatch.setattr(dialogs.AcknowledgeDialog, "exec", fake_exec)


# ---------------------------------------------------------------- board and queries


def test_lazy_model_over_the_database_passes_qt_model_checks(
    qtmodeltester: ModelTester, paged: ResultsPage
) -> None:
    model = paged.model
    assert model.rowCount() > 4 * SMALL_PAGE  # several pages
    qtmodeltester.check(model)
    rows_of(paged)
    qtmodeltester.check(model)
    paged.apply_query(model.query.but(flag=ANY_FLAG))
    model.sort(1, Qt.SortOrder.DescendingOrder)
    assert model.rowCount() > SMALL_PAGE
    qtmodeltester.check(model)
    paged.apply_query(BoardQuery(text="no such thing at all"))
    assert model.rowCount() == 0
    qtmodeltester.check(model)


def test_detail_models_pass_qt_model_checks(
    qtmodeltester: ModelTester, board_core: Core, page: ResultsPage
) -> None:
    from labdesk.results.acknowledge import result_detail

    final = next(r for r in rows_of(page) if r.status is Status.FINAL)
    with board_core.uow() as uow:
        detail = result_detail(
            uow, board_core.clock, page.user, SETTINGS.policy, final.ordered_test_id
        )
    for model_type, lines in (
        (ResultLineModel, detail.results),
        (CustodyLineModel, detail.custody),
        (SignatureModel, detail.signatures),
    ):
        model = model_type("America/New_York")
        model.set_rows(lines)  # type: ignore[arg-type]
        qtmodeltester.check(model)
    assert detail.results
    assert detail.custody


def test_board_shows_every_open_test_with_flags(page: ResultsPage, board_core: Core) -> None:
    with board_core.uow() as uow:
        counts = uow.orders.count_tests_by_status()
    open_tests = sum(n for s, n in counts.items() if s.is_open)
    assert page.model.rowCount() == open_tests
    flagged = [r for r in rows_of(page) if r.flags]
    assert flagged
    assert isinstance(page.model.data(page.model.index(0, 0), ROW_ROLE), BoardRow)
    assert page.counts.buttons[FlagReason.NOT_PICKED_UP].isEnabled()
    assert page.filters.clinician.findData("Dr. Sam Patel") >= 0  # from board.clinicians
    assert page.status_label.text() == f"Showing {open_tests} of {open_tests} ordered tests."


def test_scrolling_to_an_unread_page_reads_it(
    paged: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, last = paged.model, paged.model.rowCount() - 1
    assert model.row_at(last, fetch=False) is None
    reads: list[tuple[int, int]] = []
    real = model._fetch  # type: ignore[attr-defined]

    def counting(query: BoardQuery, offset: int, limit: int, with_total: bool) -> BoardPage:
        reads.append((offset, limit))
        return real(query, offset, limit, with_total)

    monkeypatch.setattr(model, "_fetch", counting)
    paged.show()
    qtbot.waitExposed(paged)
    paged.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.row_at(last, fetch=False) is not None)
    assert reads
    assert all(limit == SMALL_PAGE and offset % SMALL_PAGE == 0 for offset, limit in reads)
    assert (last // SMALL_PAGE * SMALL_PAGE, SMALL_PAGE) in reads
    assert last // SMALL_PAGE * SMALL_PAGE >= SMALL_PAGE * 4  # far from what the load read


@pytest.mark.parametrize(
    ("criteria", "check"),
    [
        pytest.param(BoardQuery(status=Status.RECEIVED), lambda r: r.status is Status.RECEIVED,
                     id="status"),
        pytest.param(BoardQuery(flag=ANY_FLAG), lambda r: bool(r.flags), id="any-flag"),
        pytest.param(BoardQuery(flag=FlagReason.NOT_RESULTED),
                     lambda r: FlagReason.NOT_RESULTED in r.reasons, id="flag"),
        pytest.param(BoardQuery(clinician="Dr. Sam Patel"),
                     lambda r: r.ordering_provider == "Dr. Sam Patel", id="clinician"),
    ],
)  # fmt: skip
def test_filters(
    paged: ResultsPage, criteria: BoardQuery, check: Callable[[BoardRow], bool]
) -> None:
    everything = rows_of(paged)
    expected = [r.ordered_test_id for r in everything if check(r)]
    paged.apply_query(criteria)
    assert [r.ordered_test_id for r in rows_of(paged)] == expected  # same order: due time
    assert expected
    total = len(everything)
    assert paged.status_label.text() == f"Showing {len(expected)} of {total} ordered tests."


def test_patient_and_text_search_match_the_start_of_words(paged: ResultsPage, qtbot: QtBot) -> None:
    someone = rows_of(paged)[5]
    paged.filters.patient.setText(someone.mrn)
    qtbot.waitUntil(lambda: paged.model.query.patient == someone.mrn)
    assert {r.mrn for r in rows_of(paged)} == {someone.mrn}
    paged.filters.patient.clear()
    family = someone.patient_name.split(",")[0]
    typed = f"{family[:3].upper()} {someone.test_code.lower()}"
    paged.filters.search.setText(typed)
    qtbot.waitUntil(lambda: paged.model.query.text == typed)
    found = rows_of(paged)
    assert someone in found
    for row in found:  # every typed word starts a word of the row
        words = search_words(row)
        assert all(any(w.startswith(x) for w in words) for x in typed.casefold().split())
    paged.filters.search.setText(family[1:])  # inside a word: no longer a match
    qtbot.waitUntil(lambda: paged.model.query.text == family[1:])
    assert someone not in rows_of(paged)


def test_pickers_filter_by_status_and_flag(page: ResultsPage) -> None:
    # Qt returns combo data as str: the bar must turn it back into the enums.
    status = page.filters.status
    status.setCurrentIndex(status.findData(Status.RECEIVED))
    assert page.model.query.status is Status.RECEIVED
    assert {r.status for r in rows_of(page)} == {Status.RECEIVED}
    status.setCurrentIndex(0)
    page.counts.buttons[FlagReason.NOT_PICKED_UP].click()
    assert page.model.query.flag is FlagReason.NOT_PICKED_UP
    assert rows_of(page)
    assert all(FlagReason.NOT_PICKED_UP in r.reasons for r in rows_of(page))


def test_my_results_filter(page: ResultsPage) -> None:
    page.filters.clinician.setCurrentIndex(1)
    assert page.model.query.clinician_id == page.user.id
    assert rows_of(page)  # the demo's orders are all the doctor's


def test_filters_keep_the_order_and_sort_keeps_the_filter(paged: ResultsPage) -> None:
    paged.model.sort(2, Qt.SortOrder.DescendingOrder)
    paged.filters.set_flag(ANY_FLAG)
    query = paged.model.query
    assert (query.flag, query.sort, query.descending) == (ANY_FLAG, SortKey.PATIENT, True)
    names = [r.patient_name.casefold() for r in rows_of(paged)]
    assert names == sorted(names, reverse=True)
    paged.model.sort(1, Qt.SortOrder.AscendingOrder)
    assert paged.model.query.flag == ANY_FLAG


def test_clicking_a_header_sorts_through_the_model(paged: ResultsPage, qtbot: QtBot) -> None:
    paged.show()
    qtbot.waitExposed(paged)
    header = paged.table.horizontalHeader()
    assert (header.sortIndicatorSection(), paged.model.query.sort) == (0, SortKey.URGENCY)

    def click(section: int) -> None:
        x = header.sectionViewportPosition(section) + header.sectionSize(section) // 2
        with qtbot.waitSignal(paged.model.modelReset):
            qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))

    click(3)  # MRN
    assert (paged.model.query.sort, paged.model.query.descending) == (SortKey.MRN, False)
    mrns = [r.mrn for r in rows_of(paged)]
    assert mrns == sorted(mrns)
    click(3)
    assert (paged.model.query.sort, paged.model.query.descending) == (SortKey.MRN, True)
    assert [r.mrn for r in rows_of(paged)] == sorted(mrns, reverse=True)
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    values = [paged.model.data(paged.model.index(i, 0), SORT_ROLE) for i in range(3)]
    assert values  # the raw values a view can read back


def test_include_closed_requeries_without_a_reload(
    page: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    accept_dialogs(monkeypatch, AckMeaning.REVIEWED, "")
    [chosen] = select(page, lambda r: r.status is Status.FINAL)
    with qtbot.waitSignal(page.acknowledged, timeout=10_000):
        page.acknowledge_selected()
    with qtbot.waitSignal(page.board_loaded, timeout=10_000):
        pass  # the reload after signing
    assert chosen not in {r.ordered_test_id for r in rows_of(page)}
    loads: list[int] = []
    page.board_loaded.connect(loads.append)
    page.filters.show_closed.setChecked(True)
    assert page.model.query.include_closed
    closed = [r for r in rows_of(page) if r.ordered_test_id == chosen]
    assert [r.status for r in closed] == [Status.ACKNOWLEDGED]
    wait_for_background_jobs()
    qtbot.wait(20)
    assert loads == []  # a query, not a load
    page.filters.show_closed.setChecked(False)
    assert chosen not in {r.ordered_test_id for r in rows_of(page)}


def test_a_database_failure_shows_an_error_and_keeps_the_rows(
    paged: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.results.page as results

    before = paged.model.rows_loaded()
    total = paged.model.rowCount()

    def gone(*_args: object, **_kwargs: object) -> BoardPage:
        raise StorageError("The database server does not answer.", hint="Check the network.")

    monkeypatch.setattr(results, "query_board", gone)
    paged.show()
    qtbot.waitExposed(paged)
    paged.filters.set_flag(ANY_FLAG)  # a re-query
    assert paged.status_label.is_error
    assert "does not answer" in paged.status_label.text()
    assert paged.model.query == BoardQuery()
    assert (paged.model.rowCount(), paged.model.rows_loaded()) == (total, before)
    paged.status_label.show_info("")
    paged.table.scrollToBottom()  # an unread page: empty cells, then the error
    qtbot.waitUntil(lambda: paged.status_label.is_error)
    assert paged.model.row_at(total - 1, fetch=False) is None
    paged.table.selectAll()
    assert paged.selected_rows() == []  # never part of a selection
    paged.grab()  # painting the unreadable rows does not raise


def test_a_filter_set_while_loading_is_applied_to_the_loaded_board(
    page: ResultsPage, qtbot: QtBot
) -> None:
    with qtbot.waitSignal(page.board_loaded, timeout=10_000):
        page.reload()
        page.filters.status.setCurrentIndex(page.filters.status.findData(Status.RECEIVED))
    assert page.model.query.status is Status.RECEIVED
    assert {r.status for r in rows_of(page)} == {Status.RECEIVED}


def test_reload_keeps_the_selection_by_id(paged: ResultsPage, qtbot: QtBot) -> None:
    rows = rows_of(paged)
    positions = (2, 3, 3 * SMALL_PAGE + 1)  # a run, and a row on a page read later
    wanted = {rows[p].ordered_test_id for p in positions}
    paged.table.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for position in positions:
        paged.table.selectionModel().select(paged.model.index(position, 0), flags)
    with qtbot.waitSignal(paged.board_loaded, timeout=10_000):
        paged.reload()
    assert {r.ordered_test_id for r in paged.selected_rows()} == wanted
    assert paged.table.selected_ranges() == [(2, 3), (3 * SMALL_PAGE + 1, 3 * SMALL_PAGE + 1)]


# ---------------------------------------------------------------- drill-down and sign-off


def test_open_shows_values_custody_and_signatures(
    page: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[dialogs.ResultDetailDialog] = []
    monkeypatch.setattr(dialogs.ResultDetailDialog, "exec", lambda self: shown.append(self) or 0)
    select(page, lambda r: r.status is Status.FINAL)
    with qtbot.waitSignal(page.detail_loaded, timeout=10_000):
        page.open_selected()
    [dialog] = shown
    assert dialog.results_model.rowCount() >= 1
    assert dialog.custody_model.rowCount() >= 4
    assert dialog.acknowledge_button.isEnabled()


def test_detail_opens_the_specimen_timeline(
    page: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.widgets.specimen_timeline as timeline

    opened: list[str | None] = []
    monkeypatch.setattr(
        timeline,
        "open_specimen_timeline",
        lambda parent, ctx, specimen_id, user=None, *, accession=None: opened.append(accession),
    )
    shown: list[dialogs.ResultDetailDialog] = []
    monkeypatch.setattr(dialogs.ResultDetailDialog, "exec", lambda self: shown.append(self) or 0)
    [chosen] = select(page, lambda r: r.status is Status.FINAL)
    row = next(r for r in rows_of(page) if r.ordered_test_id == chosen)
    with qtbot.waitSignal(page.detail_loaded, timeout=10_000):
        page.open_selected()
    [dialog] = shown
    assert dialog.timeline_button.isEnabled()
    dialog.timeline_button.click()
    assert opened == [row.accession]


def test_acknowledge_one(page: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    accept_dialogs(monkeypatch, AckMeaning.PATIENT_NOTIFIED, "Phoned the patient.")
    [chosen] = select(page, lambda r: r.status is Status.FINAL)
    with qtbot.waitSignal(page.acknowledged, timeout=10_000) as signal:
        page.acknowledge_selected()
    outcome = signal.args[0]
    assert outcome.acknowledged == [chosen]
    assert outcome.meaning is AckMeaning.PATIENT_NOTIFIED
    assert "Dr. Sam Patel" in page.status_label.text()
    qtbot.waitUntil(lambda: chosen not in {r.ordered_test_id for r in rows_of(page)})


def test_bulk_acknowledges_only_normals(
    paged: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, board_core: Core
) -> None:
    accept_dialogs(monkeypatch, AckMeaning.REVIEWED, "")
    normals = [r for r in rows_of(paged) if r.bulk_acknowledgeable]
    assert len(normals) >= 2
    paged.model.set_query(paged.model.query.but(sort=SortKey.ACCESSION))  # drops cached pages
    assert len(paged.model.rows_loaded()) == SMALL_PAGE
    paged.table.selectAll()  # every page, most unread; abnormal and unfinished are left out
    with qtbot.waitSignal(paged.acknowledged, timeout=10_000) as signal:
        paged.acknowledge_normals()
    assert sorted(signal.args[0].acknowledged) == sorted(r.ordered_test_id for r in normals)
    assert all(r.severity == NORMAL for r in normals)


def test_bulk_refuses_criticals(
    page: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, board_core: Core
) -> None:
    received = next(r for r in rows_of(page) if r.status is Status.RECEIVED)
    _add_result(board_core, received.ordered_test_id, AbnormalFlag.CRITICAL_HIGH)
    with qtbot.waitSignal(page.board_loaded, timeout=10_000):
        page.reload()
    critical = next(r for r in rows_of(page) if r.ordered_test_id == received.ordered_test_id)
    assert not critical.bulk_acknowledgeable
    select(page, lambda r: r.ordered_test_id == critical.ordered_test_id)
    page.acknowledge_normals()
    assert "None of the selected results" in page.status_label.text()


# ---------------------------------------------------------------- export, chart, refresh


@pytest.mark.parametrize("suffix", ["csv", "pdf"])
def test_export_outstanding_uses_the_query(
    paged: ResultsPage,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    suffix: str,
) -> None:
    target = tmp_path / f"outstanding.{suffix}"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    everything = paged.model.rowCount()
    paged.apply_query(paged.model.query.but(flag=ANY_FLAG, sort=SortKey.PATIENT))
    expected = paged.model.rowCount()
    assert SMALL_PAGE < expected < everything  # several pages, filtered
    button = paged.csv_button if suffix == "csv" else paged.pdf_button
    with qtbot.waitSignal(paged.exported, timeout=15_000) as signal:
        button.click()
    assert signal.args[0].rows == expected  # every match, not only the pages read
    data = target.read_bytes()
    if suffix == "csv":
        [_header, *lines] = csv.reader(io.StringIO(data.decode()))
        assert [line[0] for line in lines] == [r.mrn for r in rows_of(paged)]  # query's order
    else:
        assert data.startswith(b"%PDF")


def test_export_leaves_closed_tests_out(
    page: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "outstanding.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    page.filters.show_closed.setChecked(True)
    open_rows = [r for r in rows_of(page) if r.status.is_open]
    with qtbot.waitSignal(page.exported, timeout=15_000) as signal:
        page.csv_button.click()
    assert signal.args[0].rows == len(open_rows)


def test_turnaround_chart(page: ResultsPage, qtbot: QtBot) -> None:
    with qtbot.waitSignal(page.stats_loaded, timeout=10_000):
        page.tabs.setCurrentWidget(page.chart)
    bars = page.chart.bar_values()
    assert bars
    assert all(0 < median <= p90 for _code, median, p90 in bars)
    assert page.chart.chart().series()


def test_board_refreshes_when_a_result_arrives(
    page: ResultsPage, qtbot: QtBot, board_core: Core
) -> None:
    received = next(r for r in rows_of(page) if r.status is Status.RECEIVED)
    marker = page.marker
    page.poll()  # nothing changed: no reload
    wait_for_background_jobs()
    qtbot.wait(50)
    assert page.marker == marker
    _add_result(board_core, received.ordered_test_id, AbnormalFlag.NORMAL)
    with qtbot.waitSignal(page.board_loaded, timeout=10_000):
        page.poll()
    assert page.marker != marker
    updated = next(r for r in rows_of(page) if r.ordered_test_id == received.ordered_test_id)
    assert updated.status is Status.FINAL


def test_admin_sees_the_board_but_cannot_sign(qtbot: QtBot, board_core: Core) -> None:
    widget = ResultsPage(context_of(board_core), signed_in(board_core, "admin"), settings=SETTINGS)
    qtbot.addWidget(widget)
    widget.poll_timer.stop()
    with qtbot.waitSignal(widget.board_loaded, timeout=10_000):
        pass
    assert not widget.ack_button.isEnabled()
    assert widget.csv_button.isEnabled()


def test_screenshot(
    page: ResultsPage, qtbot: QtBot, screenshot: Callable[[QWidget, str], Path]
) -> None:
    page.show()
    qtbot.waitExposed(page)
    screenshot(page, "results_board")
    with qtbot.waitSignal(page.stats_loaded, timeout=10_000):
        page.tabs.setCurrentWidget(page.chart)
    screenshot(page, "results_turnaround")
    from labdesk.results.acknowledge import result_detail

    final = next(r for r in rows_of(page) if r.status is Status.FINAL)
    with page._context.uow() as uow:
        detail = result_detail(
            uow, page._context.clock, page.user, SETTINGS.policy, final.ordered_test_id
        )
    dialog = dialogs.ResultDetailDialog(detail, "America/New_York", can_acknowledge=True)
    qtbot.addWidget(dialog)
    dialog.show()
    screenshot(dialog, "results_detail")
    dialog.tabs.setCurrentIndex(1)
    screenshot(dialog, "results_detail_custody")
    from labdesk.results.acknowledge import signing_preview

    with page._context.uow() as uow:
        preview = signing_preview(uow, page._context.clock, page.user, [final.ordered_test_id])
    ack = dialogs.AcknowledgeDialog(preview.to_sign, page.user.display_name)
    qtbot.addWidget(ack)
    ack.show()
    screenshot(ack, "results_acknowledge")


def _add_result(core: Core, test_id: int, flag: AbnormalFlag) -> None:
    with core.uow() as uow:
        test = uow.board.ordered_test(test_id)
        assert test is not None
        uow.results.add(
            Result(
                observation_code="2823-3",
                observation_name="Potassium",
                value="7.0",
                units="mmol/L",
                abnormal_flag=flag,
                status=ResultStatus.FINAL,
                received_at=core.clock.now() + timedelta(seconds=1),
                ordered_test_id=test_id,
                specimen_id=test.specimen_id,
            )
        )
        test.status = Status.FINAL
        test.status_changed_at = core.clock.now()
        uow.commit()


__all__: list[Any] = []
