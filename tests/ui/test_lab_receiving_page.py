"""The lab receiving page with a simulated scanner: manifest, tubes, reject, close."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from custody_world import World
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.custody.dto import Reconciliation
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import open_receipt, receive_scan
from labdesk.domain.clock import FixedClock
from labdesk.domain.manifest import ManifestStatus
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.scan_rules import Severity
from labdesk.domain.specimen import SpecimenStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.station.recollection_tasks import open_recollection_tasks
from ui.context import AppContext
from ui.custody.receiving_page import LabReceivingPage
from ui.custody.widgets import RejectDialog, missing_question
from ui.widgets.feedback import Tone
from ui.widgets.specimen_timeline import SpecimenTimelineDialog

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


def answer_missing(
    monkeypatch: pytest.MonkeyPatch, page: LabReceivingPage, *, yes: bool
) -> list[list[str]]:
    """Answer the "report them lost?" question; returns the accessions each one named."""
    asked: list[list[str]] = []

    def confirm(accessions: list[str]) -> bool:
        asked.append(list(accessions))
        return yes

    monkeypatch.setattr(page, "_confirm_missing", confirm)
    return asked


def lab_column(page: LabReceivingPage) -> dict[str, str]:
    """Each row's "Lab" cell as shown."""
    return {
        page.model.row_at(n).accession: page.model.index(n, 5).data()
        for n in range(page.model.rowCount())
    }


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

    asked = answer_missing(monkeypatch, page, yes=True)
    with qtbot.waitSignal(page.closed, timeout=WAIT_MS) as closed:
        page.close_button.click()
    assert closed.args[0].status is ManifestStatus.RECEIVED
    assert asked == [[absent]]
    assert closed.args[0].reported_lost == (absent,)
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


def test_close_names_exactly_the_tubes_it_reports_lost_and_the_list_follows_custody(
    qtbot: QtBot,
    app_context: AppContext,
    world: World,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
    screenshot: Any,
) -> None:
    number, (strayed, absent, came) = shipped(world, password, 3)
    other, _ = shipped(world, password, 1)
    page = make_page(qtbot, app_context, world)
    scan(qtbot, page, number, came)
    assert lab_column(page)[strayed] == "Expected"
    # Meanwhile another bench receives the strayed tube on the other manifest.
    lena = world.users["lena"]
    with world.uow() as uow:
        open_receipt(uow, world.clock, lena, other)
    with world.uow() as uow:
        receive_scan(uow, world.clock, lena, other, strayed)
    asked = answer_missing(monkeypatch, page, yes=True)

    with qtbot.waitSignal(page.closed, timeout=WAIT_MS) as closed:
        page.close_button.click()

    assert asked == [[absent]]  # not the strayed tube: it is not going to be reported lost
    assert closed.args[0].reported_lost == (absent,)
    assert lab_column(page) == {
        strayed: f"Received on manifest {other}",
        absent: "Lost",
        came: "Received",
    }
    assert "1 specimen(s) reported lost: " + absent in page.banner.text()
    assert "lost 1 · missing 0" in page.summary_label.text()
    assert "received on other manifests 1" in page.summary_label.text()
    assert world.status(strayed) is SpecimenStatus.RECEIVED
    screenshot(page, "lab_receiving_closed")


def test_enter_on_the_report_lost_question_answers_no(
    qtbot: QtBot, app_context: AppContext, world: World, password: str
) -> None:
    number, (came, absent) = shipped(world, password, 2)
    page = make_page(qtbot, app_context, world)
    scan(qtbot, page, number, came)
    questions: list[str] = []

    def press_enter_like_a_scanner() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, press_enter_like_a_scanner)
            return
        questions.append(box.text())
        target: QWidget = box.focusWidget() or box
        qtbot.keyClick(target, Qt.Key.Key_Return)

    QTimer.singleShot(0, press_enter_like_a_scanner)
    page.close_button.click()
    qtbot.waitUntil(lambda: "Receipt not closed" in page.banner.text(), timeout=WAIT_MS)

    assert len(questions) == 1
    assert absent in questions[0]
    assert world.status(absent) is SpecimenStatus.IN_TRANSIT
    assert page.view is not None
    assert page.view.status is ManifestStatus.RECEIVING


def test_report_lost_question_defaults_to_no(qtbot: QtBot, screenshot: Any) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    box = missing_question(parent, ["2600000017", "2600000025"])
    qtbot.addWidget(box)

    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    assert box.escapeButton() is box.button(QMessageBox.StandardButton.No)
    assert "2 specimen(s)" in box.text()
    assert "2600000025" in box.text()
    box.show()
    qtbot.waitExposed(box)
    assert box.focusWidget() is box.button(QMessageBox.StandardButton.No)
    screenshot(box, "lab_report_lost_question")


def test_reject_dialog_makes_the_user_choose_unless_the_tube_came_damaged(
    qtbot: QtBot,
    app_context: AppContext,
    world: World,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
    screenshot: Any,
) -> None:
    number, (intact, broken) = shipped(world, password, 2)
    page = make_page(qtbot, app_context, world)
    scan(qtbot, page, number, intact)
    page.damaged_box.setChecked(True)
    scan(qtbot, page, broken)
    shown: list[tuple[Any, bool]] = []

    def cancel(dialog: RejectDialog) -> int:
        shown.append((dialog.reason.currentData(), dialog.ok_button.isEnabled()))
        return QDialog.DialogCode.Rejected.value

    monkeypatch.setattr(RejectDialog, "exec", cancel)
    for accession in (intact, broken):
        select(page, accession)
        page.reject_button.click()

    assert shown == [(None, False), (RejectionReason.LEAKING, True)]
    assert world.status(intact) is SpecimenStatus.RECEIVED  # cancelled: nothing rejected
    dialog = RejectDialog(intact)
    qtbot.addWidget(dialog)
    screenshot(dialog, "lab_reject_dialog")
    qtbot.keyClick(dialog.note, Qt.Key.Key_Return)  # Enter cannot accept without a reason
    assert dialog.result() != QDialog.DialogCode.Accepted.value
    dialog.reason.setCurrentIndex(dialog.reason.findData(RejectionReason.CLOTTED))
    assert dialog.ok_button.isEnabled()
    assert dialog.choice() == (RejectionReason.CLOTTED, "")


def test_a_tube_beyond_stability_is_flagged_when_scanned_in(
    qtbot: QtBot, app_context: AppContext, world: World, password: str, screenshot: Any
) -> None:
    old = world.specimen(collected_ago=timedelta(hours=71))  # CBC keeps 72 h refrigerated
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, world.clock, courier, "CLINIC").number
    with world.uow() as uow:
        scan_for_pickup(uow, world.clock, courier, number, old)
    with world.uow() as uow:
        finish_pickup(uow, world.clock, courier, number, password)
    world.clock.advance(timedelta(hours=2))
    page = make_page(qtbot, app_context, world)

    _opened, late = scan(qtbot, page, number, old)

    assert late.code.value == "beyond_stability"
    assert page.banner.severity is Severity.WARNING
    assert page.banner.sounds.played[-1] is Tone.WARNING
    assert "beyond stability (collected 73 h before receipt, limit 72 h" in page.banner.text()
    note = page.model.index(0, 6).data()
    assert note.startswith("Received beyond stability (collected 73 h before receipt")
    screenshot(page, "lab_receiving_beyond_stability")
