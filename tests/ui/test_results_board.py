"""The clinician results board: models, proxy, drill-down, sign-off, export, auto-refresh."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core, bootstrap
from labdesk.config import Config
from labdesk.domain import order
from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.result import AbnormalFlag, AckMeaning, Result, ResultStatus
from labdesk.services import credentials
from labdesk.services.auth import session_of
from labdesk.services.board_dto import NORMAL, BoardRow
from labdesk.services.demo import STATES, seed_demo
from labdesk.services.dto import SignedInUser
from labdesk.services.overdue_settings import OverdueSettings
from ui.app import context_of
from ui.pages.results import ResultsPage
from ui.results import dialogs
from ui.results.board_model import ROW_ROLE, BoardTableModel
from ui.results.board_proxy import ANY_FLAG, BoardFilter, BoardProxyModel
from ui.results.detail_models import CustodyLineModel, ResultLineModel, SignatureModel
from ui.table_model import SORT_ROLE
from ui.tasks import wait_for_background_jobs

Status = order.TestStatus  # not imported by name: pytest would try to collect Test*
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SETTINGS = OverdueSettings(OverduePolicy())


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


def rows_of(page: ResultsPage) -> list[BoardRow]:
    return page.proxy.accepted_rows()


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


# ---------------------------------------------------------------- models


def test_models_pass_qt_model_checks(qtmodeltester: ModelTester, page: ResultsPage) -> None:
    qtmodeltester.check(page.model)
    qtmodeltester.check(page.proxy)
    page.proxy.set_filter(BoardFilter(flag=ANY_FLAG))
    page.proxy.sort(1, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(page.proxy)
    page.proxy.set_filter(BoardFilter(text="no such thing at all"))
    assert page.proxy.rowCount() == 0
    qtmodeltester.check(page.proxy)


def test_detail_models_pass_qt_model_checks(
    qtmodeltester: ModelTester, board_core: Core, page: ResultsPage
) -> None:
    from labdesk.services.acknowledge import result_detail

    final = next(r for r in rows_of(page) if r.status is Status.FINAL)
    detail = result_detail(
        board_core.uow(), board_core.clock, page.user, SETTINGS.policy, final.ordered_test_id
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
    assert page.model.rowCount() == sum(n for s, n in counts.items() if s.is_open)
    flagged = [r for r in rows_of(page) if r.flags]
    assert flagged
    index = page.proxy.index(0, 0)
    assert isinstance(page.proxy.data(index, ROW_ROLE), BoardRow)
    assert page.counts.buttons[FlagReason.NOT_PICKED_UP].isEnabled()


@pytest.mark.parametrize(
    ("criteria", "check"),
    [
        pytest.param(BoardFilter(status=Status.RECEIVED), lambda r: r.status is Status.RECEIVED,
                     id="status"),
        pytest.param(BoardFilter(flag=ANY_FLAG), lambda r: bool(r.flags), id="any-flag"),
        pytest.param(BoardFilter(flag=FlagReason.NOT_RESULTED),
                     lambda r: FlagReason.NOT_RESULTED in r.reasons, id="flag"),
        pytest.param(BoardFilter(clinician="Dr. Sam Patel"),
                     lambda r: r.ordering_provider == "Dr. Sam Patel", id="clinician"),
    ],
)  # fmt: skip
def test_filters(
    page: ResultsPage, criteria: BoardFilter, check: Callable[[BoardRow], bool]
) -> None:
    expected = {r.ordered_test_id for r in page.model.rows if check(r)}
    page.proxy.set_filter(criteria)
    assert {r.ordered_test_id for r in rows_of(page)} == expected
    assert expected
    due = [r.due_s for r in rows_of(page)]
    assert due == sorted(due)  # still most overdue first


def test_patient_and_text_search(page: ResultsPage, qtbot: QtBot) -> None:
    someone = page.model.rows[5]
    page.filters.patient.setText(someone.mrn)
    qtbot.waitUntil(lambda: page.proxy.board_filter.patient == someone.mrn)
    assert {r.mrn for r in rows_of(page)} == {someone.mrn}
    page.filters.patient.clear()
    family = someone.patient_name.split(",")[0]
    page.filters.search.setText(f"{family.upper()} {someone.test_code.lower()}")
    qtbot.waitUntil(lambda: page.proxy.board_filter.text != "")
    shown = rows_of(page)
    assert someone in shown
    assert all(family.casefold() in r.patient_name.casefold() for r in shown)


def test_my_results_filter(page: ResultsPage) -> None:
    page.filters.clinician.setCurrentIndex(1)
    assert page.proxy.board_filter.clinician_id == page.user.id
    assert rows_of(page)  # the demo's orders are all the doctor's


def test_sort_uses_raw_values(page: ResultsPage) -> None:
    due = 1
    page.proxy.sort(due, Qt.SortOrder.AscendingOrder)
    values = [page.proxy.data(page.proxy.index(i, due), SORT_ROLE) for i in range(20)]
    assert values == sorted(values)
    page.proxy.sort(due, Qt.SortOrder.DescendingOrder)
    values = [page.proxy.data(page.proxy.index(i, due), SORT_ROLE) for i in range(20)]
    assert values == sorted(values, reverse=True)
    page.proxy.set_filter(BoardFilter(flag=ANY_FLAG))  # filtering keeps the order
    values = [row.due_s for row in rows_of(page)]
    assert values == sorted(values, reverse=True)


def test_proxy_maps_both_ways() -> None:
    model = BoardTableModel("America/New_York")
    proxy = BoardProxyModel()
    proxy.setSourceModel(model)
    assert proxy.rowCount() == 0
    assert not proxy.mapToSource(proxy.index(0, 0)).isValid()


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
    import ui.specimen_timeline as timeline

    opened: list[str | None] = []
    monkeypatch.setattr(
        timeline,
        "open_specimen_timeline",
        lambda parent, ctx, specimen_id, user=None, *, accession=None: opened.append(accession),
    )
    shown: list[dialogs.ResultDetailDialog] = []
    monkeypatch.setattr(dialogs.ResultDetailDialog, "exec", lambda self: shown.append(self) or 0)
    [chosen] = select(page, lambda r: r.status is Status.FINAL)
    row = next(r for r in page.model.rows if r.ordered_test_id == chosen)
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
    qtbot.waitUntil(lambda: chosen not in {r.ordered_test_id for r in page.model.rows})


def test_bulk_acknowledges_only_normals(
    page: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, board_core: Core
) -> None:
    accept_dialogs(monkeypatch, AckMeaning.REVIEWED, "")
    normals = [r for r in page.model.rows if r.bulk_acknowledgeable]
    assert len(normals) >= 2
    page.table.selectAll()  # includes abnormal and unfinished tests: those are left out
    with qtbot.waitSignal(page.acknowledged, timeout=10_000) as signal:
        page.acknowledge_normals()
    assert sorted(signal.args[0].acknowledged) == sorted(r.ordered_test_id for r in normals)
    assert all(r.severity == NORMAL for r in normals)


def test_bulk_refuses_criticals(
    page: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, board_core: Core
) -> None:
    received = next(r for r in page.model.rows if r.status is Status.RECEIVED)
    _add_result(board_core, received.ordered_test_id, AbnormalFlag.CRITICAL_HIGH)
    with qtbot.waitSignal(page.board_loaded, timeout=10_000):
        page.reload()
    critical = next(r for r in page.model.rows if r.ordered_test_id == received.ordered_test_id)
    assert not critical.bulk_acknowledgeable
    select(page, lambda r: r.ordered_test_id == critical.ordered_test_id)
    page.acknowledge_normals()
    assert "None of the selected results" in page.status_label.text()


# ---------------------------------------------------------------- export, chart, refresh


@pytest.mark.parametrize("suffix", ["csv", "pdf"])
def test_export_outstanding(
    page: ResultsPage,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    suffix: str,
) -> None:
    target = tmp_path / f"outstanding.{suffix}"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    page.proxy.set_filter(BoardFilter(flag=ANY_FLAG))
    button = page.csv_button if suffix == "csv" else page.pdf_button
    with qtbot.waitSignal(page.exported, timeout=15_000) as signal:
        button.click()
    assert signal.args[0].rows == page.proxy.rowCount()
    data = target.read_bytes()
    if suffix == "csv":
        assert data.decode().count("\r\n") == page.proxy.rowCount() + 1
    else:
        assert data.startswith(b"%PDF")


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
    received = next(r for r in page.model.rows if r.status is Status.RECEIVED)
    marker = page.marker
    page.poll()  # nothing changed: no reload
    wait_for_background_jobs()
    qtbot.wait(50)
    assert page.marker == marker
    _add_result(board_core, received.ordered_test_id, AbnormalFlag.NORMAL)
    with qtbot.waitSignal(page.board_loaded, timeout=10_000):
        page.poll()
    assert page.marker != marker
    updated = next(r for r in page.model.rows if r.ordered_test_id == received.ordered_test_id)
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
    from labdesk.services.acknowledge import result_detail

    final = next(r for r in page.model.rows if r.status is Status.FINAL)
    detail = result_detail(
        page._context.uow(), page._context.clock, page.user, SETTINGS.policy, final.ordered_test_id
    )
    dialog = dialogs.ResultDetailDialog(detail, "America/New_York", can_acknowledge=True)
    qtbot.addWidget(dialog)
    dialog.show()
    screenshot(dialog, "results_detail")
    dialog.tabs.setCurrentIndex(1)
    screenshot(dialog, "results_detail_custody")
    ack = dialogs.AcknowledgeDialog([final], page.user.display_name)
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
