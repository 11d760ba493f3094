"""The courier page driven like a courier: a keyboard-wedge scanner, then the PIN."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from custody_world import World
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QLabel, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.config import Config
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import StorageError
from labdesk.domain.manifest import ManifestStatus, parse_bag_id
from labdesk.domain.scan_rules import Severity
from labdesk.domain.specimen import SpecimenStatus
from labdesk.kernel.dto import SignedInUser
from printers.manifest_pdf import PdfManifestPrinter
from ui.context import AppContext
from ui.custody.courier_page import BAG_EXAMPLE, CourierPage
from ui.scanner import ScannerInput, ScannerSettings, ScanRouter
from ui.widgets.feedback import Tone
from ui.widgets.specimen_timeline import SpecimenTimelineDialog

WAIT_MS = 10_000


@pytest.fixture
def world(core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser]) -> World:
    users = {name: user_named(name) for name in ("maria", "chris", "lena", "alex")}
    return World.on_existing(core.uow, clock, users)


@pytest.fixture
def page(qtbot: QtBot, app_context: AppContext, world: World, tmp_path: Path) -> CourierPage:
    printer = PdfManifestPrinter(f"pdf://{(tmp_path / 'manifest.pdf').as_posix()}")
    context = dataclasses.replace(app_context, manifest_printer=printer)
    widget = CourierPage(context, world.users["chris"])
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    qtbot.waitUntil(lambda: widget.site_box.count() == 2, timeout=WAIT_MS)
    return widget


def scan(qtbot: QtBot, page: CourierPage, *texts: str) -> list[Any]:
    """Type each text as a wedge scanner does (keys, then Enter), all at once; wait for all."""
    handled: list[Any] = []
    page.scan_handled.connect(handled.append)
    for text in texts:
        qtbot.keyClicks(page.scan_edit, text)
        qtbot.keyClick(page.scan_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(handled) == len(texts), timeout=WAIT_MS)
    page.scan_handled.disconnect(handled.append)
    return handled


def start(qtbot: QtBot, page: CourierPage) -> None:
    with qtbot.waitSignal(page.manifest_loaded, timeout=WAIT_MS):
        page.start_button.click()


def visible_text(widget: QWidget) -> str:
    """Every label and table cell of ``widget``."""
    texts = [label.text() for label in widget.findChildren(QLabel)]
    for model in (widget.model, widget.ready_model, widget.transit.model):  # type: ignore[attr-defined]
        for r in range(model.rowCount()):
            texts.extend(str(model.index(r, c).data()) for c in range(model.columnCount()))
    return "\n".join(texts)


def test_courier_scans_fast_and_hears_every_outcome(
    qtbot: QtBot, page: CourierPage, world: World, qtmodeltester: Any, screenshot: Any
) -> None:
    ready = [world.specimen() for _ in range(3)]
    waiting = world.specimen()
    unlabelled = world.specimen(SpecimenStatus.COLLECTED)
    elsewhere = world.specimen(site="CLINIC2")
    start(qtbot, page)
    old = world.specimen(collected_ago=timedelta(hours=71))  # CBC keeps 72 h refrigerated
    assert page.ready_model.rowCount() == 4

    outcomes = scan(
        qtbot, page, *ready, ready[0], "2600999997", unlabelled, elsewhere, old, "BAGA01"
    )

    codes = [o.code.value for o in outcomes]
    assert codes == ["added"] * 3 + [
        "already_on_manifest",
        "malformed",
        "not_ready",
        "wrong_site",
        "at_risk",
        "bag_opened",
    ]
    assert page.model.rowCount() == 4
    assert [page.ready_model.row_at(0).accession] == [waiting]
    assert page.bag is not None
    assert "BAGA01" in page.bag_label.text()
    assert page.banner.severity is Severity.INFO
    assert page.banner.sounds.played == [Tone.OK] * 4 + [Tone.ALARM] * 3 + [Tone.WARNING, Tone.OK]
    assert "Still waiting at the site: 1" in page.ready_label.text()
    for model in (page.model, page.ready_model, page.transit.model):
        qtmodeltester.check(model)
    text = visible_text(page)
    assert ready[0] in text
    for forbidden in ("Smith", "John", "1980-03-04", "M100001"):
        assert forbidden not in text
    screenshot(page, "courier_scanning")

    page.table.selectRow(0)
    page.timeline_button.click()
    (dialog,) = page.findChildren(SpecimenTimelineDialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 4, timeout=WAIT_MS)
    assert "verifies" in dialog.verdict.text()


def test_finish_asks_about_left_behind_then_the_pin_and_prints(
    qtbot: QtBot,
    page: CourierPage,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    password: str,
    screenshot: Any,
) -> None:
    taken, left = world.specimen(), world.specimen()
    start(qtbot, page)
    scan(qtbot, page, taken)
    asked: list[str] = []

    def question(_parent: Any, _title: str, text: str, *_a: Any) -> Any:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QInputDialog, "getText", lambda *_a, **_k: (password, True))
    with qtbot.waitSignal(page.printed, timeout=WAIT_MS) as printed:
        page.finish_button.click()

    assert left in asked[0]
    assert printed.args[0].endswith("manifest.pdf")
    assert (tmp_path / "manifest.pdf").read_bytes().startswith(b"%PDF-")
    assert page.manifest is not None
    assert page.manifest.status is ManifestStatus.IN_TRANSIT
    assert not page.scan_edit.isEnabled()
    assert world.status(taken) is SpecimenStatus.IN_TRANSIT
    screenshot(page, "courier_finished")


def test_wrong_pin_keeps_the_pickup_open(
    qtbot: QtBot, page: CourierPage, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.specimen()
    start(qtbot, page)
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QInputDialog, "getText", lambda *_a, **_k: ("wrong", True))
    page.finish_button.click()
    qtbot.waitUntil(lambda: "Wrong PIN or password" in page.banner.text(), timeout=WAIT_MS)
    assert page.banner.severity is Severity.ERROR
    assert page.manifest is not None
    assert page.manifest.status is ManifestStatus.OPEN


def test_database_gone_during_a_scan_says_scan_again(
    qtbot: QtBot, page: CourierPage, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    accession = world.specimen()
    start(qtbot, page)

    def gone(*_a: Any, **_k: Any) -> Any:
        raise StorageError("Cannot reach the database server.", hint="Check the network.")

    monkeypatch.setattr("labdesk.custody.commands.scan_for_pickup", gone)
    (error,) = scan(qtbot, page, accession)
    assert isinstance(error, StorageError)
    assert "scan it again" in page.banner.text()
    monkeypatch.undo()
    (again,) = scan(qtbot, page, accession)
    assert again.code.value == "added"


def test_a_huge_scan_is_echoed_elided_and_the_window_stays_narrow(
    qtbot: QtBot, page: CourierPage, world: World, screenshot: Any
) -> None:
    world.specimen()
    start(qtbot, page)
    handled: list[Any] = []
    page.scan_handled.connect(handled.append)

    page.scan_edit.setText("7" * 3000)  # typed key by key it takes seconds; Enter ends it
    qtbot.keyClick(page.scan_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(handled) == 1, timeout=WAIT_MS)

    assert handled[0].code.value == "malformed"
    assert "3000 digits" in page.banner.text()
    assert "…" in page.banner.text()
    assert len(page.banner.text()) < 300
    assert page.minimumSizeHint().width() < 1280
    screenshot(page, "courier_long_scan")
    page.adjustSize()
    assert page.width() < 1600


def test_a_tube_scanned_before_start_pickup_is_refused_aloud(
    qtbot: QtBot, page: CourierPage, world: World, config: Config, screenshot: Any
) -> None:
    accession = world.specimen()
    router = ScanRouter(ScannerInput(ScannerSettings.from_config(config), page), page)
    page.attach_scanner(router)
    page.show()

    (typed,) = scan(qtbot, page, accession)
    handled: list[Any] = []
    page.scan_handled.connect(handled.append)
    router.route(accession)  # read while the focus was on the site list

    assert typed is None
    assert handled == [None]
    assert page.banner.text().startswith("Start the pickup first:")
    assert "press Start pickup" in page.banner.text()
    assert page.banner.severity is Severity.ERROR
    assert page.banner.sounds.played == [Tone.ALARM, Tone.ALARM]
    assert page.manifest is None
    assert world.status(accession) is SpecimenStatus.VERIFIED
    screenshot(page, "courier_before_start")


def test_the_bag_hint_shows_the_format_bag_scans_accept(page: CourierPage) -> None:
    hint = page.bag_hint.text()

    assert page.bag_hint.isVisibleTo(page)
    assert BAG_EXAMPLE in hint
    assert "BAG, then A (ambient), R (refrigerated) or F (frozen)" in hint
    bag = parse_bag_id(BAG_EXAMPLE)
    assert bag is not None
    assert bag.temperature_class is TemperatureClass.REFRIGERATED
    assert parse_bag_id("BAG-0042") is None  # no hyphen: the hint must not suggest one
    assert "BAG-" not in hint
