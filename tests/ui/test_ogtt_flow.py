"""Issue 13 item 3: a 2-hour OGTT at the station, driven by keyboard and scanner.

Fasting draw (the fasting question answered on the plan, label decoded, time point on
it), the worklist counting down to 1H, the clock moved to the due time (alarm colour and
sound), the 1H draw opened from the timed list, then a late 2H draw that asks for the
reason for the time before it saves; the reason goes to the lab (NTE). A second flow
draws 1H early: the reason is picked from the common ones with the keyboard, Enter saves.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from custody_world import World
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.patient import PatientIdentifier
from labdesk.domain.people import Station
from labdesk.domain.preparation import PreparationKind
from labdesk.domain.series import TIMING_REASONS
from labdesk.kernel.dto import SignedInUser
from tests.ui.station_window import open_station_window, scan, station_of, wait_view
from ui.app import context_of
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.station.banner import Step
from ui.station.page import StationPage
from ui.tasks import wait_for_background_jobs
from ui.widgets.feedback import BACKGROUNDS, Tone

STATION = "DRAW-2"
WRISTBAND = "WBM100001"
WAIT_MS = 10_000


@pytest.fixture
def labels_dir(tmp_path: Path) -> Path:
    return tmp_path / "labels"


@pytest.fixture
def world(
    core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser], labels_dir: Path
) -> World:
    """John Smith with a 2-hour OGTT ordered (fasting, 1 h, 2 h glucose)."""
    world = World.on_existing(core.uow, clock, {"maria": user_named("maria")})
    with core.uow() as uow:
        uow.people.add(
            Station(
                code=STATION,
                name="Chair 2",
                site_id=world.sites["CLINIC"],
                label_printer_uri=f"file://{labels_dir}",
            )
        )
        uow.patients.add_identifier(
            PatientIdentifier(patient_id=world.patient_id, system="wristband", value=WRISTBAND)
        )
        order = Order(
            placer_order_number="EHR-OGTT",
            patient_id=world.patient_id,
            ordering_provider="Dr. Sam Patel",
            priority=Priority.ROUTINE,
            source=OrderSource.HL7,
            ordered_at=clock.now(),
            created_at=clock.now(),
        )
        uow.orders.add(order)
        uow.orders.flush()
        assert order.id is not None
        for code in ("GTT0", "GTT1H", "GTT2H"):
            uow.orders.add_test(OrderedTest(order_id=order.id, test_code=code))
        uow.commit()
    return world


@pytest.fixture
def context(core: Core, world: World) -> AppContext:
    return context_of(core)


@pytest.fixture
def window(
    qtbot: QtBot, context: AppContext, user_named: Callable[[str], SignedInUser]
) -> Iterator[MainWindow]:
    window = open_station_window(qtbot, context, user_named("maria"))
    yield window
    wait_for_background_jobs()


def _answer_fasting(qtbot: QtBot, page: StationPage) -> None:
    """The plan asks when the patient last ate (GTT0 needs 8 h): last evening, 21:30."""
    panel = page.plan_step.preparation
    qtbot.waitUntil(lambda: bool(panel.requirements), timeout=WAIT_MS)
    assert [r.kind for r in panel.requirements] == [PreparationKind.FASTING]
    assert not page.plan_step.collect_button.isEnabled()  # asked before Collect
    field = panel.question_field(PreparationKind.FASTING)
    assert isinstance(field, QLineEdit)
    field.setFocus()
    qtbot.keyClicks(field, "21:30")  # 09:00 in New York: 11.5 h fasting
    assert page.plan_step.collect_button.isEnabled()


def _outbound(core: Core, accession: str) -> str:
    with core.uow() as uow:
        message = uow.hl7.outbound_for_specimens(accession)
        assert message is not None
        return message.payload


def _timed_note(payload: str) -> str:
    (note,) = [s for s in payload.split("\r") if s.startswith("NTE|") and "Timed draw" in s]
    return note


def _draw_and_label(
    qtbot: QtBot, page: StationPage, labels_dir: Path, drawn: int, point: str, code: str
) -> str:
    """Collect the one planned tube, print its label, check it, scan it back, finish."""
    if code == "GTT0":
        _answer_fasting(qtbot, page)
    plan = page.plan_step.plan_model
    assert [plan.row_at(i).test_codes for i in range(plan.rowCount())] == [(code,)]
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert page.step is Step.COLLECT
    (row,) = page.collect_step.rows
    assert point in row.timing_label.text()
    if row.fasting is not None:
        row.fasting.setCurrentIndex(1)  # "Fasting"
    return _save_print_finish(qtbot, page, labels_dir, drawn, point)


def _save_print_finish(
    qtbot: QtBot, page: StationPage, labels_dir: Path, drawn: int, point: str
) -> str:
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    return _print_finish(qtbot, page, labels_dir, drawn, point)


def _print_finish(qtbot: QtBot, page: StationPage, labels_dir: Path, drawn: int, point: str) -> str:
    """Once saved: print the label, decode it, check the time point, scan it back, finish."""
    wait_view(qtbot, page, lambda v: len(v.specimens) == 1)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=WAIT_MS)
    printed: list[object] = []
    page.controller.printed.connect(printed.append)
    QTest.keyClick(page.labels_step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(printed), timeout=WAIT_MS)
    outcome = printed[0]
    assert outcome.all_printed  # type: ignore[attr-defined]
    png = outcome.preview_png  # type: ignore[attr-defined]
    (decoded,) = [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    view = page.controller.encounter
    assert view is not None
    (accession,) = [s.accession for s in view.specimens]
    assert decoded == accession
    labels = sorted(labels_dir.glob("*.zpl"), key=lambda p: p.stat().st_mtime)
    assert len(labels) == drawn
    zpl = labels[-1].read_text(encoding="utf-8")
    assert f"^FD{point}" in zpl  # the time point is printed on the label
    assert accession in zpl
    page.labels_step.specimens_table.setFocus()
    scan(qtbot, accession)
    wait_view(qtbot, page, lambda v: all(s.verified for s in v.specimens))
    QTest.keyClick(page.labels_step, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=WAIT_MS)
    return accession


def test_ogtt_series_fasting_countdown_alarm_1h_and_late_2h(
    qtbot: QtBot,
    core: Core,
    window: MainWindow,
    clock: FixedClock,
    labels_dir: Path,
    qtmodeltester: ModelTester,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    page = station_of(window)
    find = page.find_step
    panel = find.timed_panel

    # Fasting: the wristband opens the visit; only the fasting tube is planned.
    find.search_edit.setFocus()
    scan(qtbot, WRISTBAND)
    wait_view(qtbot, page, lambda v: v.identified)
    assert page.step is Step.PLAN
    _draw_and_label(qtbot, page, labels_dir, 1, "OGTT FASTING", "GTT0")

    # The worklist counts down to the 1-hour draw.
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=WAIT_MS)
    qtmodeltester.check(panel.model)
    find.worklist_tabs.setCurrentWidget(panel)
    countdown = panel.model.index(0, 4)
    assert panel.model.data(panel.model.index(0, 1)) == "OGTT 1H"
    assert panel.model.data(countdown) == "due in 1:00"
    assert panel.model.data(countdown, Qt.ItemDataRole.BackgroundRole) is None
    assert Tone.ALARM not in panel.feedback.played
    assert find.worklist_tabs.tabText(3) == "Timed draws (1)"
    screenshot(window, "station_1_timed_countdown")

    # The clock reaches the due time: alarm colour and sound (once), the tab says so.
    clock.advance(timedelta(minutes=57))
    qtbot.waitUntil(lambda: panel.model.data(countdown) == "due in 0:03", timeout=3000)
    assert panel.model.data(countdown, Qt.ItemDataRole.BackgroundRole) == QColor(
        BACKGROUNDS[Tone.WARNING]
    )
    clock.advance(timedelta(minutes=3))
    qtbot.waitUntil(lambda: Tone.ALARM in panel.feedback.played, timeout=3000)
    assert panel.model.data(countdown, Qt.ItemDataRole.BackgroundRole) == QColor(
        BACKGROUNDS[Tone.ALARM]
    )
    assert panel.model.data(countdown).startswith("due now")
    assert "OGTT 1H for Smith, John is due now" in find.worklist_label.text()
    panel.tick()
    assert panel.feedback.played.count(Tone.ALARM) == 1
    screenshot(window, "station_1_timed_alarm")

    # 1H: opened from the timed list (Enter); date of birth and name confirm the patient.
    panel.table.setFocus()
    panel.table.selectRow(0)
    QTest.keyClick(panel.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.step is Step.IDENTIFY, timeout=WAIT_MS)
    identify = page.identify_step
    qtbot.keyClicks(identify.dob_edit, "1980-03-04")
    identify.name_check.setChecked(True)
    QTest.keyClick(identify.dob_edit, Qt.Key.Key_Return)
    wait_view(qtbot, page, lambda v: v.identified)
    qtbot.waitUntil(lambda: page.step is Step.PLAN, timeout=WAIT_MS)
    _draw_and_label(qtbot, page, labels_dir, 2, "OGTT 1H", "GTT1H")
    qtbot.waitUntil(
        lambda: (
            panel.model.rowCount() == 1 and panel.model.data(panel.model.index(0, 1)) == "OGTT 2H"
        ),
        timeout=WAIT_MS,
    )

    # 2H drawn 10 minutes late: the collect step asks for the reason for the time.
    clock.advance(timedelta(minutes=70))
    find.search_edit.setFocus()
    scan(qtbot, WRISTBAND)
    wait_view(qtbot, page, lambda v: v.identified and bool(v.plan.containers))
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    (row,) = page.collect_step.rows
    assert "late by 5 min" in row.timing_label.text()
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert page.step is Step.COLLECT  # nothing sent: the reason is asked for first
    assert "OGTT 2H is outside its window (late by 5 min)" in page.collect_step.message.text()
    assert row.timing_field is not None
    assert row.timing_field.picker.hasFocus()  # the common reasons first; or type one
    screenshot(window, "station_4_timed_reason")
    assert row.timing_reason is not None
    row.timing_reason.setFocus()
    qtbot.keyClicks(row.timing_reason, "patient was in radiology")
    QTest.keyClick(row.timing_reason, Qt.Key.Key_Return)  # Enter confirms: saved
    accession = _print_finish(qtbot, page, labels_dir, 3, "OGTT 2H")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=WAIT_MS)
    assert find.worklist_tabs.tabText(3) == "Timed draws (0)"
    note = _timed_note(_outbound(core, accession))
    assert "Timed draw OGTT 2H: due" in note
    assert "drawn outside the window (late by 5 min); reason: patient was in radiology" in note


def test_ogtt_1h_drawn_early_from_the_screen_with_a_picked_reason(
    qtbot: QtBot,
    core: Core,
    window: MainWindow,
    clock: FixedClock,
    labels_dir: Path,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    page = station_of(window)
    find = page.find_step
    panel = find.timed_panel
    find.search_edit.setFocus()
    scan(qtbot, WRISTBAND)
    wait_view(qtbot, page, lambda v: v.identified)
    first_drawn = clock.now()
    _draw_and_label(qtbot, page, labels_dir, 1, "OGTT FASTING", "GTT0")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=WAIT_MS)

    # 40 min later the patient must leave: 1H opened from the timed list, 15 min early.
    clock.advance(timedelta(minutes=40))
    qtbot.waitUntil(
        lambda: panel.model.data(panel.model.index(0, 4)) == "due in 0:20", timeout=3000
    )
    find.worklist_tabs.setCurrentWidget(panel)
    panel.table.setFocus()
    panel.table.selectRow(0)
    QTest.keyClick(panel.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.step is Step.IDENTIFY, timeout=WAIT_MS)
    identify = page.identify_step
    qtbot.keyClicks(identify.dob_edit, "1980-03-04")
    identify.name_check.setChecked(True)
    QTest.keyClick(identify.dob_edit, Qt.Key.Key_Return)
    wait_view(qtbot, page, lambda v: v.identified and bool(v.plan.containers))
    qtbot.waitUntil(lambda: page.step is Step.PLAN, timeout=WAIT_MS)
    plan = page.plan_step.plan_model
    assert [plan.row_at(i).test_codes for i in range(plan.rowCount())] == [("GTT1H",)]
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert page.step is Step.COLLECT
    (row,) = page.collect_step.rows
    assert "window 09:55-10:05" in row.timing_label.text()
    assert "early by 15 min" in row.timing_label.text()

    # Save asks for the reason and puts the keyboard on the common reasons.
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert page.step is Step.COLLECT
    assert "OGTT 1H is outside its window (early by 15 min)" in page.collect_step.message.text()
    field = row.timing_field
    assert field is not None
    assert field.picker.hasFocus()
    QTest.keyClick(field.picker, Qt.Key.Key_Down)  # the first common reason
    assert field.text() == TIMING_REASONS[0]
    screenshot(window, "station_4_timed_early_reason")
    with qtbot.waitSignal(page.collect_step.save_requested, timeout=WAIT_MS):
        QTest.keyClick(field.picker, Qt.Key.Key_Return)  # Enter confirms: saved
    accession = _print_finish(qtbot, page, labels_dir, 2, "OGTT 1H")

    note = _timed_note(_outbound(core, accession))
    assert "Timed draw OGTT 1H: due 2026-" in note
    assert f"drawn outside the window (early by 15 min); reason: {TIMING_REASONS[0]}" in note
    # The 2H draw still counts from the fasting draw, not from the early 1H.
    qtbot.waitUntil(
        lambda: (
            panel.model.rowCount() == 1 and panel.model.data(panel.model.index(0, 1)) == "OGTT 2H"
        ),
        timeout=WAIT_MS,
    )
    assert panel.model.row_at(0).due_at == first_drawn + timedelta(hours=2)
