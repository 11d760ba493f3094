"""Issue 11 item 3: a rejected tube drawn again from the station's "To recollect" list.

The assistant opens the task, confirms the patient's identifiers, sees the banner and a
plan holding only the rejected test, collects, prints (the label is decoded), scans the
tube back and finishes: the task leaves the list. A task can also be cancelled with a
reason.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zxingcpp
from custody_world import World
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import open_receipt, receive_scan, reject_specimen
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.patient import PatientIdentifier
from labdesk.domain.people import Station
from labdesk.domain.recollection import RecollectionStatus, RejectionReason
from labdesk.kernel.dto import SignedInUser
from labdesk.results.board import load_board
from tests.ui.test_station_flow import scan, station_of, wait_view
from ui.app import context_of
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.station.banner import Step
from ui.tasks import wait_for_background_jobs

STATION = "DRAW-2"  # the ui conftest's station code
WAIT_MS = 10_000


@pytest.fixture
def labels_dir(tmp_path: Path) -> Path:
    return tmp_path / "labels"


@pytest.fixture
def world(
    core: Core,
    clock: FixedClock,
    user_named: Callable[[str], SignedInUser],
    labels_dir: Path,
    password: str,
) -> World:
    """John Smith's CBC tube rejected as haemolysed at the lab; a CMP still to draw."""
    users = {name: user_named(name) for name in ("maria", "chris", "lena", "sam")}
    world = World.on_existing(core.uow, clock, users)
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
            PatientIdentifier(patient_id=world.patient_id, system="wristband", value="WBM100001")
        )
        order = Order(
            placer_order_number="EHR-NEXT",
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
        uow.orders.add_test(OrderedTest(order_id=order.id, test_code="CMP"))
        uow.commit()
    return world


def rejected_tube(world: World, password: str) -> str:
    """A CBC tube shipped, received and rejected (haemolysed); its accession."""
    accession = world.specimen(tests=("CBC",))
    courier, lab = world.users["chris"], world.users["lena"]
    with world.uow() as uow:
        number = start_pickup(uow, world.clock, courier, "CLINIC").number
    with world.uow() as uow:
        scan_for_pickup(uow, world.clock, courier, number, accession)
    with world.uow() as uow:
        finish_pickup(uow, world.clock, courier, number, password, leave_behind=True)
    with world.uow() as uow:
        open_receipt(uow, world.clock, lab, number)
    with world.uow() as uow:
        receive_scan(uow, world.clock, lab, number, accession)
    with world.uow() as uow:
        reject_specimen(uow, world.clock, lab, accession, RejectionReason.HAEMOLYSED)
    return accession


@pytest.fixture
def context(core: Core, world: World) -> AppContext:
    return context_of(core)


@pytest.fixture
def window(
    qtbot: QtBot, context: AppContext, user_named: Callable[[str], SignedInUser]
) -> Iterator[MainWindow]:
    window = MainWindow(context, user_named("maria"))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    station_of(window).feedback.audible = False
    yield window
    wait_for_background_jobs()


def _open_task(qtbot: QtBot, window: MainWindow) -> None:
    page = station_of(window)
    find = page.find_step
    find.reload_worklist()
    qtbot.waitUntil(lambda: find.recollect_model.rowCount() == 1, timeout=WAIT_MS)
    find.worklist_tabs.setCurrentWidget(find.recollect_table)
    table = find.recollect_table
    table.setFocus()
    table.selectRow(0)
    QTest.keyClick(table, Qt.Key.Key_Return)


def test_recollection_from_the_worklist_to_scan_back(
    qtbot: QtBot,
    window: MainWindow,
    world: World,
    password: str,
    labels_dir: Path,
    qtmodeltester: ModelTester,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    old = rejected_tube(world, password)
    page = station_of(window)
    _open_task(qtbot, window)
    qtmodeltester.check(page.find_step.recollect_model)
    qtbot.waitUntil(lambda: page.step is Step.IDENTIFY, timeout=WAIT_MS)
    assert "Recollection of" in page.banner.recollection_label.text()

    # The identifiers are checked as for any visit: name and date of birth.
    step = page.identify_step
    qtbot.keyClicks(step.dob_edit, "1980-03-04")
    step.name_check.setChecked(True)
    QTest.keyClick(step.dob_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.step is Step.PLAN, timeout=WAIT_MS)

    banner = page.banner.recollection_label
    assert banner.isVisible()
    assert banner.text() == f"Recollection of {old} (haemolysed) — draw again: CBC"
    plan = page.plan_step.plan_model
    assert [plan.row_at(i).test_codes for i in range(plan.rowCount())] == [("CBC",)]
    assert page.plan_step.pending_check.isVisibleTo(page.plan_step)  # the CMP may join
    assert "(1)" in page.plan_step.pending_check.text()
    assert "Draw again only: CBC" in page.plan_step.message.text()
    qtmodeltester.check(plan)
    screenshot(window, "station_3_recollection_plan")

    # The normal visit's CMP joins only on request, and leaves again.
    page.plan_step.pending_check.setChecked(True)
    wait_view(qtbot, page, lambda v: len(v.plan.containers) == 2)
    assert {plan.row_at(i).container_code for i in range(plan.rowCount())} == {"LAV", "SST"}
    page.plan_step.pending_check.setChecked(False)
    wait_view(qtbot, page, lambda v: len(v.plan.containers) == 1)

    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert len(page.collect_step.rows) == 1
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=WAIT_MS)
    wait_view(qtbot, page, lambda v: len(v.specimens) == 1)
    assert banner.text().startswith(f"Recollection of {old} (haemolysed) — drawn again as ")

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
    (new,) = [s.accession for s in view.specimens]
    assert decoded == new != old
    assert len(list(labels_dir.glob("*.zpl"))) == 1

    page.labels_step.specimens_table.setFocus()
    scan(qtbot, new)
    wait_view(qtbot, page, lambda v: all(s.verified for s in v.specimens))
    QTest.keyClick(page.labels_step, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.FIND, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.find_step.recollect_model.rowCount() == 0, timeout=WAIT_MS)
    assert page.controller.recollection_task_id is None

    with world.uow() as uow:
        specimen = uow.specimens.by_accession(new)
        replaced = uow.specimens.by_accession(old)
        assert specimen is not None
        assert replaced is not None
        assert specimen.recollection_of_id == replaced.id
        task = uow.recollections.for_specimen(replaced.id or 0)
        assert task is not None
        assert (task.status, task.recollected_specimen_id) == (
            RecollectionStatus.DONE,
            specimen.id,
        )
        kinds = [e.kind for e in uow.custody.for_specimen(specimen.id or 0)]
    assert kinds == [
        CustodyEventKind.COLLECTED,
        CustodyEventKind.LABELLED,
        CustodyEventKind.VERIFIED,
    ]
    with world.uow() as uow:
        board = load_board(uow, world.clock, world.users["sam"], OverduePolicy(), audit=False)
    (cbc,) = [r for r in board.rows if r.test_code == "CBC"]
    assert (cbc.status, cbc.accession) == (Status.COLLECTED, new)
    assert FlagReason.NO_RECOLLECTION not in {f.reason for f in cbc.flags}


def test_the_assistant_cannot_cancel_a_recollection(
    qtbot: QtBot,
    window: MainWindow,
    world: World,
    password: str,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    """Issue 13: only a clinician cancels a recollection (from the results board, see
    tests/ui/test_recollection_flow.py); the station offers no cancel button to the MA."""
    rejected_tube(world, password)
    page = station_of(window)
    find = page.find_step
    find.reload_worklist()
    qtbot.waitUntil(lambda: find.recollect_model.rowCount() == 1, timeout=WAIT_MS)
    find.worklist_tabs.setCurrentWidget(find.recollect_table)
    assert not find.cancel_recollection_button.isVisibleTo(find)
    find.worklist_tabs.setCurrentWidget(find.waiting_table)
    assert not find.cancel_recollection_button.isVisibleTo(find)
    find.worklist_tabs.setCurrentWidget(find.recollect_table)
    screenshot(window, "station_1_to_recollect")
    assert not page.plan_step.may_cancel_recollection
    _open_task(qtbot, window)
    qtbot.waitUntil(lambda: page.step is Step.IDENTIFY, timeout=WAIT_MS)
    assert not page.plan_step.cancel_recollection_button.isVisibleTo(page.plan_step)
