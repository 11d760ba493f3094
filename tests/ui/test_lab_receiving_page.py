"""The lab receiving page with a simulated scanner: manifest, tubes, reject, close."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from custody_world import World
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.domain.clock import FixedClock
from labdesk.domain.manifest import ManifestStatus
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.scan_rules import Severity
from labdesk.services.custody_dto import Reconciliation
from labdesk.services.custody_pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.services.dto import SignedInUser
from labdesk.services.recollection import open_recollection_tasks
from ui.context import AppContext
from ui.pages.lab_receiving import LabReceivingPage
from ui.specimen_timeline import SpecimenTimelineDialog

WAIT_MS = 10_000


@pytest.fixture
def world(core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser]) -> World:
    users = {name: user_named(name) for name in ("maria", "chris", "lena", "alex")}
    return World.on_existing(core.uow, clock, users)


def shipped(world: World, password: str, count: int) -> tuple[str, list[str]]:
    accessions = [world.specimen() for _ in range(count)]
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, world.clock, courier, "CLINIC").number
    for accession in accessions:
        with world.uow() as uow:
            scan_for_pickup(uow, world.clock, courier, number, accession)
    with world.uow() as uow:
        finish_pickup(uow, world.clock, courier, number, password, leave_behind=True)
    return number, accessions


def make_page(qtbot: QtBot, context: AppContext, world: World) -> LabReceivingPage:
    page = LabReceivingPage(context, world.users["lena"])
    qtbot.addWidget(page)
    page.resize(1280, 800)
    return page


def scan(qtbot: QtBot, page: LabReceivingPage, *texts: str) -> list[Any]:
    handled: list[Any] = []
    page.scan_handled.connect(handled.append)
    for text in texts:
        qtbot.keyClicks(page.scan_edit, text)
        qtbot.keyClick(page.scan_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(handled) == len(texts), timeout=WAIT_MS)
    page.scan_handled.disconnect(handled.append)
    return handled


def select(page: LabReceivingPage, accession: str) -> None:
    rows = [page.model.row_at(n).accession for n in range(page.model.rowCount())]
    proxy_index = page.table.model().mapFromSource(page.model.index(rows.index(accession), 0))  # type: ignore[attr-defined]
    page.table.selectionModel().select(
        proxy_index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


def test_receipt_reconciles_rejects_and_closes(
    qtbot: QtBot,
    app_context: AppContext,
    world: World,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
    qtmodeltester: Any,
    screenshot: Any,
) -> None:
    number, (good, bad, broken, absent) = shipped(world, password, 4)
    stray = world.specimen()
    page = make_page(qtbot, app_context, world)

    opened, *rest = scan(qtbot, page, number, good, bad, stray)
    page.damaged_box.setChecked(True)
    (damaged,) = scan(qtbot, page, broken)

    assert isinstance(opened, Reconciliation)
    assert [f.code.value for f in rest] == ["received", "received", "not_shipped"]
    assert damaged.code.value == "received_damaged"
    assert not page.damaged_box.isChecked()
    assert "missing 1" in page.summary_label.text()
    assert "unexpected 1" in page.summary_label.text()
    qtmodeltester.check(page.model)

    select(page, bad)
    monkeypatch.setattr(page, "_ask_rejection", lambda _a: (RejectionReason.CLOTTED, "clot"))
    with qtbot.waitSignal(page.reconciled, timeout=WAIT_MS):
        page.reject_button.click()
    assert "rejected" in page.summary_label.text()
    with world.uow() as uow:
        assert [t.accession for t in open_recollection_tasks(uow)] == [bad]
    screenshot(page, "lab_receiving")

    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(page.reconciled, timeout=WAIT_MS) as closed:
        page.close_button.click()
    assert closed.args[0].status is ManifestStatus.RECEIVED
    with world.uow() as uow:
        assert {t.accession for t in open_recollection_tasks(uow)} == {bad, absent}


def test_manifest_scanned_twice_resumes(
    qtbot: QtBot, app_context: AppContext, world: World, password: str
) -> None:
    number, (first, _second) = shipped(world, password, 2)
    page = make_page(qtbot, app_context, world)
    scan(qtbot, page, number, first)
    (same,) = scan(qtbot, page, number)
    assert same.code.value == "already_on_manifest"

    other = make_page(qtbot, app_context, world)
    (resumed,) = scan(qtbot, other, number)
    assert resumed.resumed
    assert "resuming (1 of 2 scanned)" in other.banner.text()
    assert other.banner.severity is Severity.INFO
    (again,) = scan(qtbot, other, first)
    assert again.code.value == "already_received"


def test_tube_before_manifest_is_refused(
    qtbot: QtBot, app_context: AppContext, world: World, password: str
) -> None:
    _number, (tube,) = shipped(world, password, 1)
    page = make_page(qtbot, app_context, world)
    (error,) = scan(qtbot, page, tube)
    assert "not a manifest barcode" in page.banner.text()
    assert page.banner.severity is Severity.ERROR
    assert isinstance(error, Exception)


def test_timeline_opens_from_the_receipt(
    qtbot: QtBot,
    app_context: AppContext,
    world: World,
    password: str,
    qtmodeltester: Any,
    screenshot: Any,
) -> None:
    number, (tube,) = shipped(world, password, 1)
    page = make_page(qtbot, app_context, world)
    scan(qtbot, page, number, tube)
    select(page, tube)

    page.timeline_button.click()
    (dialog,) = page.findChildren(SpecimenTimelineDialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 5, timeout=WAIT_MS)

    qtmodeltester.check(dialog.model)
    assert "verifies" in dialog.verdict.text()
    steps = [dialog.model.index(r, 1).data() for r in range(5)]
    assert steps == ["collected", "labelled", "verified", "picked up", "received"]
    assert dialog.model.index(4, 3).data() == "Lena Brandt"
    dialog.resize(1280, 500)
    screenshot(dialog, "specimen_timeline")
