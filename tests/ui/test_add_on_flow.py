"""Issue 13 item 1 at the station: an add-on through the dialog, with its ADD-ON label.

The assistant opens the add-on dialog (Ctrl+Shift+D), scans the tube, picks the test, checks
(allowed), adds it and the label prints again: the label scans (zxing-cpp) to the specimen's
accession and its stored content marks the added test ADD-ON. A test that does not fit is
refused with the reason, and "Order a new collection instead" enters a pending order.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zxingcpp
from custody_world import World
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.people import Station
from labdesk.kernel.dto import SignedInUser
from tests.ui.station_window import open_station_window, station_of
from ui.app import context_of
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.tasks import wait_for_background_jobs
from ui.widgets.add_on_dialog import AddOnDialog

STATION = "DRAW-2"  # the ui conftest's station code
WAIT_MS = 10_000
DR = "Dr. Sam Patel"


@pytest.fixture
def labels_dir(tmp_path: Path) -> Path:
    return tmp_path / "labels"


@pytest.fixture
def world(
    core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser], labels_dir: Path
) -> World:
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


def _dialog(qtbot: QtBot, window: MainWindow) -> AddOnDialog:
    page = station_of(window)
    page.setFocus()
    QTest.keyClick(
        page,
        Qt.Key.Key_D,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: page.add_on_dialog is not None, timeout=WAIT_MS)
    dialog = page.add_on_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.test_combo.count() > 10, timeout=WAIT_MS)
    return dialog


def _carried(world: World, accession: str) -> dict[str, Status]:
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        return {t.test_code: t.status for t in uow.orders.tests_for_specimen(specimen.id or 0)}


def test_add_on_from_the_station_prints_an_add_on_label(
    qtbot: QtBot,
    window: MainWindow,
    world: World,
    labels_dir: Path,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    accession = world.specimen(tests=("CMP",), container="SST")
    dialog = _dialog(qtbot, window)
    qtbot.keyClicks(dialog.accession_edit, accession)
    dialog.select_test("TSH")
    qtbot.keyClicks(dialog.requester_edit, DR)
    QTest.keyClick(dialog.accession_edit, Qt.Key.Key_Return)  # checks
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=WAIT_MS)
    assert dialog.add_button.isEnabled()
    assert dialog.verdict.text().startswith("Allowed: TSH can be added to " + accession)
    assert not dialog.order_button.isVisibleTo(dialog)
    screenshot(dialog, "add_on_allowed")
    with qtbot.waitSignal(dialog.printed, timeout=WAIT_MS) as printed:
        dialog.add_button.click()
    assert _carried(world, accession) == {"CMP": Status.COLLECTED, "TSH": Status.COLLECTED}
    rows = printed.args[0]
    png = rows[0].preview_png
    (decoded,) = [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert decoded == accession
    with world.uow() as uow:
        job = uow.print_queue.get(rows[0].id)
        assert job is not None
        labels = json.loads(job.content_json)["labels"]
    assert labels[0]["tests"][0] == "ADD-ON TSH"
    assert "CMP" in labels[0]["tests"]
    assert "ADD-ON label printed." in dialog.verdict.text()
    assert len(list(labels_dir.glob("*.zpl"))) == 1


def test_refused_add_on_offers_a_new_collection(
    qtbot: QtBot,
    window: MainWindow,
    world: World,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    accession = world.specimen(tests=("CMP",), container="SST")
    dialog = _dialog(qtbot, window)
    qtbot.keyClicks(dialog.accession_edit, accession)
    dialog.select_test("ESR")
    qtbot.keyClicks(dialog.requester_edit, DR)
    dialog.check_button.click()
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=WAIT_MS)
    text = dialog.verdict.text()
    assert text.startswith(f"Refused — ESR cannot be added to {accession}:")
    assert "ESR needs whole blood; this specimen is serum" in text
    assert "ESR needs a LAV container; this specimen is in SST" in text
    assert not dialog.add_button.isEnabled()
    assert dialog.order_button.isVisibleTo(dialog)
    screenshot(dialog, "add_on_refused")
    with qtbot.waitSignal(dialog.ordered, timeout=WAIT_MS) as ordered:
        dialog.order_button.click()
    with world.uow() as uow:
        tests = uow.orders.tests_for_orders([ordered.args[0]])
        pending = [(t.test_code, t.status, t.specimen_id) for t in tests]
    assert pending == [("ESR", Status.ORDERED, None)]
    assert "Order entered: ESR waits to be collected" in dialog.verdict.text()
    assert _carried(world, accession) == {"CMP": Status.COLLECTED}
