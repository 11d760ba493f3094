"""The signature dialogs show what is signed, and refuse a test without result up front.

Issue 11 item 12: the acknowledge dialog named the test but not its value, the bulk one
said "N normal final results" without naming a patient, and a test without a result
opened the signature dialog only to be refused after signing.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from labdesk.access import credentials
from labdesk.access.auth import session_of
from labdesk.bootstrap import Core, bootstrap
from labdesk.config import Config
from labdesk.domain import order
from labdesk.domain.clock import FixedClock
from labdesk.domain.overdue import OverduePolicy
from labdesk.domain.result import AbnormalFlag, AckMeaning, Result, ResultStatus
from labdesk.results.ack_dto import SigningLine, SigningValue
from labdesk.results.acknowledge import current_results
from labdesk.results.board_dto import BoardRow
from labdesk.results.overdue_settings import OverdueSettings
from labdesk.seed.demo import STATES, seed_demo
from ui.app import context_of
from ui.results import dialogs
from ui.results.detail_models import CRITICAL_COLOUR
from ui.results.page import ResultsPage

Status = order.TestStatus  # not imported by name: pytest would try to collect Test*
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SETTINGS = OverdueSettings(OverduePolicy())
PATIENT, MRN, TEST, OBSERVATION, VALUE, UNITS, FLAG, RANGE = range(8)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the demo's patients in every state, built once."""
    folder = tmp_path_factory.mktemp("ack")
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
    core = bootstrap(
        Config(database_url=f"sqlite:///{copy}", data_dir=tmp_path), clock=FixedClock(NOW)
    )
    yield core
    from ui.tasks import wait_for_background_jobs

    wait_for_background_jobs()
    core.close()


@pytest.fixture
def page(qtbot: QtBot, board_core: Core) -> ResultsPage:
    with board_core.uow() as uow:
        doctor = uow.people.user_by_username("doctor")
        assert doctor is not None
        user = session_of(doctor, "STATION-1")
    widget = ResultsPage(context_of(board_core), user, settings=SETTINGS)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.poll_timer.stop()
    with qtbot.waitSignal(widget.board_loaded, timeout=10_000):
        pass
    return widget


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[dialogs.AcknowledgeDialog]:
    """Every signature dialog the page runs (each is cancelled at once)."""
    shown: list[dialogs.AcknowledgeDialog] = []

    def fake_exec(self: dialogs.AcknowledgeDialog) -> int:
        shown.append(self)
        return 0

    monkeypatch.setattr(dialogs.AcknowledgeDialog, "exec", fake_exec)
    return shown


def rows_of(page: ResultsPage) -> list[BoardRow]:
    return page.model.rows_in(0, page.model.rowCount() - 1)


def select(page: ResultsPage, predicate: Callable[[BoardRow], bool]) -> list[BoardRow]:
    page.table.clearSelection()
    chosen = []
    for position, row in enumerate(rows_of(page)):
        if predicate(row):
            page.table.selectRow(position)
            chosen.append(row)
    return chosen


def first(page: ResultsPage, status: Status) -> BoardRow:
    return next(r for r in rows_of(page) if r.status is status)


def cell(dialog: dialogs.AcknowledgeDialog, row: int, column: int, role: int = 0) -> object:
    model = dialog.signing_model
    return model.data(model.index(row, column), role or Qt.ItemDataRole.DisplayRole)


def current_values(core: Core, test_id: int) -> list[tuple[str, str, str]]:
    """``(observation, value, units)`` of the test's current results."""
    with core.uow() as uow:
        found = current_results(uow.results.for_ordered_test(test_id))
        return [(r.observation_name, r.value, r.units) for r in found]


def add_critical(core: Core, test_id: int) -> None:
    with core.uow() as uow:
        test = uow.board.ordered_test(test_id)
        assert test is not None
        uow.results.add(
            Result(
                observation_code="2823-3",
                observation_name="Potassium",
                value="7.2",
                units="mmol/L",
                reference_range="3.5-5.1",
                abnormal_flag=AbnormalFlag.CRITICAL_HIGH,
                status=ResultStatus.FINAL,
                received_at=NOW - timedelta(minutes=2),
                ordered_test_id=test_id,
                specimen_id=test.specimen_id,
            )
        )
        test.status = Status.FINAL
        test.status_changed_at = NOW - timedelta(minutes=2)
        uow.commit()


# ---------------------------------------------------------------- what is signed


def test_sign_dialog_shows_patient_test_and_current_values(
    page: ResultsPage,
    qtbot: QtBot,
    board_core: Core,
    opened: list[dialogs.AcknowledgeDialog],
) -> None:
    row = first(page, Status.FINAL)
    select(page, lambda r: r.ordered_test_id == row.ordered_test_id)
    page.acknowledge_selected()
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=10_000)
    [dialog] = opened
    values = current_values(board_core, row.ordered_test_id)
    assert values
    assert dialog.signing_model.rowCount() == len(values)
    for position, (observation, value, units) in enumerate(values):
        assert cell(dialog, position, PATIENT) == row.patient_name
        assert cell(dialog, position, MRN) == row.mrn
        assert cell(dialog, position, TEST) == row.test_name
        assert cell(dialog, position, OBSERVATION) == observation
        assert cell(dialog, position, VALUE) == value
        assert cell(dialog, position, UNITS) == units
        assert cell(dialog, position, FLAG) == "Normal"
    assert dialog.count.text() == (
        f"You are signing {row.test_name} for {row.patient_name} (MRN {row.mrn})."
    )
    assert [line.ordered_test_id for line in dialog.lines] == [row.ordered_test_id]


def test_sign_dialog_marks_a_critical_value(
    page: ResultsPage,
    qtbot: QtBot,
    board_core: Core,
    opened: list[dialogs.AcknowledgeDialog],
) -> None:
    received = first(page, Status.RECEIVED)
    add_critical(board_core, received.ordered_test_id)
    select(page, lambda r: r.ordered_test_id == received.ordered_test_id)
    page.acknowledge_selected()  # the board row still says "received": the service knows
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=10_000)
    [dialog] = opened
    assert (cell(dialog, 0, VALUE), cell(dialog, 0, UNITS)) == ("7.2", "mmol/L")
    assert cell(dialog, 0, FLAG) == "Critical high (HH)"
    assert cell(dialog, 0, FLAG, Qt.ItemDataRole.ForegroundRole) == CRITICAL_COLOUR
    assert dialog.count.text().endswith("It has a critical value.")


def test_a_test_without_result_is_refused_before_any_dialog(
    page: ResultsPage,
    qtbot: QtBot,
    board_core: Core,
    opened: list[dialogs.AcknowledgeDialog],
) -> None:
    waiting = first(page, Status.RECEIVED)
    select(page, lambda r: r.ordered_test_id == waiting.ordered_test_id)
    page.acknowledge_selected()
    qtbot.waitUntil(lambda: "no result yet" in page.status_label.text(), timeout=10_000)
    text = page.status_label.text()
    assert f"{waiting.patient_name} (MRN {waiting.mrn}), {waiting.test_name}" in text
    assert "Nothing was signed" in text
    qtbot.wait(50)
    assert opened == []  # no signature was asked for
    with board_core.uow() as uow:
        assert uow.board.acknowledgement_rows(waiting.ordered_test_id) == []


def test_detail_dialog_offers_no_acknowledge_without_result(
    page: ResultsPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[dialogs.ResultDetailDialog] = []
    monkeypatch.setattr(dialogs.ResultDetailDialog, "exec", lambda self: shown.append(self) or 0)
    travelling = first(page, Status.IN_TRANSIT)
    select(page, lambda r: r.ordered_test_id == travelling.ordered_test_id)
    with qtbot.waitSignal(page.detail_loaded, timeout=10_000):
        page.open_selected()
    [dialog] = shown
    assert not dialog.acknowledge_button.isEnabled()
    assert dialog.acknowledge_button.toolTip() == "no result yet"


# ---------------------------------------------------------------- bulk


def test_bulk_dialog_lists_every_patient_with_a_count(
    page: ResultsPage, qtbot: QtBot, opened: list[dialogs.AcknowledgeDialog]
) -> None:
    normals = [r for r in rows_of(page) if r.bulk_acknowledgeable]
    assert len(normals) >= 2
    page.table.selectAll()
    page.acknowledge_normals()
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=10_000)
    [dialog] = opened
    model = dialog.signing_model
    listed = {model.row_at(i).line.ordered_test_id for i in range(model.rowCount())}
    assert listed == {r.ordered_test_id for r in normals}
    shown = {(cell(dialog, i, PATIENT), cell(dialog, i, MRN)) for i in range(model.rowCount())}
    assert shown == {(r.patient_name, r.mrn) for r in normals}
    patients = len({r.patient_id for r in normals})
    assert dialog.count.text() == (
        f"You are signing {len(normals)} test(s) for {patients} patient(s):"
    )


def _line(n: int) -> SigningLine:
    value = SigningValue("Glucose", f"{80 + n % 20}", "mg/dL", "70-99", AbnormalFlag.NORMAL,
                         ResultStatus.FINAL)  # fmt: skip
    return SigningLine(
        ordered_test_id=n, patient_id=n, patient_name=f"Patient{n:03d}, Test", mrn=f"M{n:07d}",
        test_code="GLUF", test_name="Glucose, fasting", status=Status.FINAL, values=(value,),
    )  # fmt: skip


def test_bulk_dialog_scrolls_when_many(
    qtbot: QtBot, screenshot: Callable[[QWidget, str], Path]
) -> None:
    dialog = dialogs.AcknowledgeDialog([_line(n) for n in range(1, 81)], "Dr. Sam Patel")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.signing_model.rowCount() == 80
    assert dialog.count.text() == "You are signing 80 test(s) for 80 patient(s):"
    assert dialog.height() < 800  # the list scrolls; the dialog does not grow off screen
    assert dialog.signing_view.verticalScrollBar().maximum() > 0
    screenshot(dialog, "acknowledge_bulk")


def test_screenshot_sign_dialog(
    page: ResultsPage,
    qtbot: QtBot,
    board_core: Core,
    monkeypatch: pytest.MonkeyPatch,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    received = first(page, Status.RECEIVED)
    add_critical(board_core, received.ordered_test_id)
    shown: list[dialogs.AcknowledgeDialog] = []

    def show(self: dialogs.AcknowledgeDialog) -> int:
        shown.append(self)
        self.meaning.setCurrentIndex(self.meaning.findData(AckMeaning.PATIENT_NOTIFIED))
        self.show()
        qtbot.waitExposed(self)
        screenshot(self, "acknowledge_one")
        return 0

    monkeypatch.setattr(dialogs.AcknowledgeDialog, "exec", show)
    select(page, lambda r: r.ordered_test_id == received.ordered_test_id)
    page.acknowledge_selected()
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=10_000)


def test_screenshot_refusal(
    page: ResultsPage,
    qtbot: QtBot,
    opened: list[dialogs.AcknowledgeDialog],
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    page.show()
    qtbot.waitExposed(page)
    waiting = first(page, Status.IN_TRANSIT)
    select(page, lambda r: r.ordered_test_id == waiting.ordered_test_id)
    page.acknowledge_selected()
    qtbot.waitUntil(lambda: "Nothing was signed" in page.status_label.text(), timeout=10_000)
    assert opened == []
    screenshot(page, "acknowledge_refused")


# ---------------------------------------------------------------- stability caveat

CAVEAT = "Received beyond stability (collected 26 h before receipt, limit 24 h for K ambient)"


def test_a_tube_received_beyond_stability_is_flagged_in_detail_and_signature(
    page: ResultsPage,
    qtbot: QtBot,
    board_core: Core,
    opened: list[dialogs.AcknowledgeDialog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The caveat written at receipt reaches the clinician wherever the values are shown."""
    from labdesk.results import acknowledge

    row = first(page, Status.FINAL)
    with board_core.uow() as uow:
        test = uow.board.ordered_test(row.ordered_test_id)
        assert test is not None
        assert test.specimen_id is not None
        late_specimen = test.specimen_id
    monkeypatch.setattr(
        acknowledge,
        "stability_caveat",
        lambda uow, specimen_id: CAVEAT if specimen_id == late_specimen else None,
    )
    shown: list[dialogs.ResultDetailDialog] = []
    monkeypatch.setattr(dialogs.ResultDetailDialog, "exec", lambda self: shown.append(self) or 0)
    select(page, lambda r: r.ordered_test_id == row.ordered_test_id)
    with qtbot.waitSignal(page.detail_loaded, timeout=10_000):
        page.open_selected()
    [detail] = shown
    assert detail.detail.caveat == CAVEAT
    assert f"Caution: {CAVEAT}. Interpret the results with care." in detail._summary(row, "UTC")

    page.acknowledge_selected()
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=10_000)
    [dialog] = opened
    assert dialog.lines[0].caveat == CAVEAT
    assert dialog.count.text().endswith(f"Caution, {row.test_name} ({row.mrn}): {CAVEAT}.")
