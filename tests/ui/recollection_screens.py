"""Shared set-up of the recollection screen tests: a rejected tube, the station window.

``tests/ui/test_station_recollection_flow.py`` (issue 11 item 3) and
``tests/ui/test_recollection_flow.py`` (issue 13 item 2) import these fixtures and steps.
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
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import open_receipt, receive_scan, reject_specimen
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.patient import PatientIdentifier
from labdesk.domain.people import Station
from labdesk.domain.recollection import RejectionReason
from labdesk.kernel.dto import SignedInUser
from tests.ui.station_window import open_station_window, station_of, wait_view
from ui.app import context_of
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.station.banner import Step
from ui.station.page import StationPage
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
    window = open_station_window(qtbot, context, user_named("maria"))
    yield window
    wait_for_background_jobs()


def open_task(qtbot: QtBot, window: MainWindow) -> None:
    page = station_of(window)
    find = page.find_step
    find.reload_worklist()
    qtbot.waitUntil(lambda: find.recollect_model.rowCount() == 1, timeout=WAIT_MS)
    find.worklist_tabs.setCurrentWidget(find.recollect_table)
    table = find.recollect_table
    table.setFocus()
    table.selectRow(0)
    QTest.keyClick(table, Qt.Key.Key_Return)


def identify(qtbot: QtBot, page: StationPage) -> None:
    """Confirm the opened task's patient (date of birth and name), up to the plan."""
    qtbot.waitUntil(lambda: page.step is Step.IDENTIFY, timeout=WAIT_MS)
    step = page.identify_step
    qtbot.keyClicks(step.dob_edit, "1980-03-04")
    step.name_check.setChecked(True)
    QTest.keyClick(step.dob_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.step is Step.PLAN, timeout=WAIT_MS)


def collect_planned(qtbot: QtBot, page: StationPage) -> None:
    """Keep the plan (Ctrl+K) and save the collection (Ctrl+S), up to the labels."""
    QTest.keyClick(page.plan_step, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(page.collect_step, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.step is Step.LABELS, timeout=WAIT_MS)
    wait_view(qtbot, page, lambda v: len(v.specimens) == 1)


def print_labels(qtbot: QtBot, page: StationPage) -> tuple[object, str, str]:
    """Print (Ctrl+P); the outcome, the label's barcode as zxing-cpp reads it, the new
    specimen's accession."""
    printed: list[object] = []
    page.controller.printed.connect(printed.append)
    QTest.keyClick(page.labels_step, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(printed), timeout=WAIT_MS)
    outcome = printed[0]
    png = outcome.preview_png  # type: ignore[attr-defined]
    (decoded,) = [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    view = page.controller.encounter
    assert view is not None
    (new,) = [s.accession for s in view.specimens]
    return outcome, decoded, new
