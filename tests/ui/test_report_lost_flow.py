"""Reporting a tube lost from the in-transit flags: a coded reason, a note for "other"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from custody_world import World
from PySide6.QtCore import QItemSelectionModel, Qt
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.timeline import specimen_timeline
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.loss import LossReason
from labdesk.domain.recollection import LOST_REASON_CODE
from labdesk.domain.specimen import SpecimenStatus
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.custody import widgets
from ui.custody.loss_dialog import LossDialog
from ui.custody.widgets import TransitPanel
from ui.widgets.specimen_timeline import SpecimenTimelineDialog

WAIT_MS = 10_000


@pytest.fixture
def world(core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser]) -> World:
    users = {name: user_named(name) for name in ("maria", "chris", "lena", "sam")}
    return World.on_existing(core.uow, clock, users)


def overdue_on_the_road(world: World, password: str) -> str:
    """A tube picked up and on the road well past the route's transit time."""
    accession = world.specimen(tests=("CMP",), container="SST")
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, world.clock, courier, "CLINIC").number
    with world.uow() as uow:
        scan_for_pickup(uow, world.clock, courier, number, accession)
    with world.uow() as uow:
        finish_pickup(uow, world.clock, courier, number, password, leave_behind=True)
    world.clock.advance(timedelta(hours=4))
    return accession


def panel_with_row(qtbot: QtBot, context: AppContext, user: SignedInUser) -> TransitPanel:
    panel = TransitPanel(context, user=user)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=WAIT_MS)
    index = panel.table.model().index(0, 0)
    panel.table.selectionModel().select(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    return panel


def test_the_dialog_needs_a_reason_and_a_note_for_other(qtbot: QtBot, screenshot: Any) -> None:
    dialog = LossDialog("2600000001")
    qtbot.addWidget(dialog)
    assert dialog.reason.currentIndex() == -1  # nothing chosen for the user
    assert not dialog.ok_button.isEnabled()
    dialog.reason.setCurrentIndex(dialog.reason.findData(LossReason.OTHER))
    assert not dialog.ok_button.isEnabled()
    assert "needs a note" in dialog.hint.text()
    dialog.accept()  # Enter in the note field must not skip the note
    assert dialog.result() != LossDialog.DialogCode.Accepted
    qtbot.keyClicks(dialog.note, "dropped in the car park")
    assert dialog.ok_button.isEnabled()
    assert dialog.choice() == (LossReason.OTHER, "dropped in the car park")
    dialog.reason.setCurrentIndex(dialog.reason.findData(LossReason.COURIER_DELAY))
    dialog.note.clear()
    assert dialog.ok_button.isEnabled()  # a precise code needs no note
    assert dialog.choice() == (LossReason.COURIER_DELAY, "")
    screenshot(dialog, "report_lost_dialog")


def test_courier_reports_an_overdue_tube_lost_with_a_code(
    qtbot: QtBot,
    app_context: AppContext,
    world: World,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accession = overdue_on_the_road(world, password)
    panel = panel_with_row(qtbot, app_context, world.users["chris"])
    assert panel.lost_button.isVisibleTo(panel)
    asked: list[str] = []

    def ask(_parent: Any, shown: str) -> tuple[LossReason, str]:
        asked.append(shown)
        return LossReason.DAMAGED_IN_TRANSIT, "cooler box cracked"

    monkeypatch.setattr(widgets, "ask_loss", ask)
    with qtbot.waitSignal(panel.reported_lost, timeout=WAIT_MS) as reported:
        panel.lost_button.click()

    assert asked == [accession]
    assert reported.args == [accession]
    assert "reported lost" in panel.status.text()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=WAIT_MS)  # off the list
    assert world.status(accession) is SpecimenStatus.LOST
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        task = uow.recollections.for_specimen(specimen.id or 0)
        assert task is not None
        assert (task.reason, task.loss_reason, task.note) == (
            LOST_REASON_CODE,
            LossReason.DAMAGED_IN_TRANSIT,
            "cooler box cracked",
        )
        line = specimen_timeline(uow, world.users["sam"], accession=accession)
    (lost,) = [e for e in line.entries if e.kind is K.LOST]
    assert (lost.reason, lost.note) == (LossReason.DAMAGED_IN_TRANSIT.value, "cooler box cracked")
    assert lost.location.startswith("In transit (manifest ")

    # The timeline dialog shows the code's label, the note beside it.
    dialog = SpecimenTimelineDialog(app_context, world.users["sam"], accession=accession)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == len(line.entries), timeout=WAIT_MS)
    headers = [
        dialog.model.headerData(c, Qt.Orientation.Horizontal)
        for c in range(dialog.model.columnCount())
    ]
    row = next(r for r in range(dialog.model.rowCount()) if dialog.model.row_at(r).kind is K.LOST)
    shown = {h: dialog.model.index(row, c).data() for c, h in enumerate(headers)}
    assert (shown["Reason"], shown["Note"]) == (
        "Broken or leaking in transit",
        "cooler box cracked",
    )


def test_cancelling_the_question_reports_nothing(
    qtbot: QtBot,
    app_context: AppContext,
    world: World,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accession = overdue_on_the_road(world, password)
    panel = panel_with_row(qtbot, app_context, world.users["chris"])
    monkeypatch.setattr(widgets, "ask_loss", lambda *_a: None)
    panel.lost_button.click()
    qtbot.wait(50)
    assert world.status(accession) is SpecimenStatus.IN_TRANSIT


def test_without_a_user_the_panel_has_no_report_button(
    qtbot: QtBot, app_context: AppContext
) -> None:
    panel = TransitPanel(app_context)
    qtbot.addWidget(panel)
    assert not panel.lost_button.isVisibleTo(panel)
