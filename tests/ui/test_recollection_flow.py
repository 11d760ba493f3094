"""Issue 13 item 2 on screen: a recollection that closes, and one a clinician cancels.

The assistant draws the rejected tube again from "To recollect": the new label scans
(zxing-cpp) to the new accession, and the original's timeline dialog shows it was
"recollected by" it. A clinician cancels another recollection from the results board, with
a reason (the station offers no cancel button to the assistant).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from custody_world import World
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.recollection import RecollectionStatus
from labdesk.kernel.dto import SignedInUser
from tests.ui.recollection_screens import (  # noqa: F401 - fixtures
    WAIT_MS,
    collect_planned,
    context,
    identify,
    labels_dir,
    open_task,
    print_labels,
    rejected_tube,
    window,
    world,
)
from tests.ui.station_window import station_of
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.results.page import ResultsPage
from ui.widgets import recollection_cancel
from ui.widgets.specimen_timeline import SpecimenTimelineDialog


def test_recollection_label_scans_to_the_new_tube_and_marks_the_original(
    qtbot: QtBot,
    context: AppContext,  # noqa: F811
    window: MainWindow,  # noqa: F811
    world: World,  # noqa: F811
    password: str,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    old = rejected_tube(world, password)
    page = station_of(window)
    open_task(qtbot, window)
    identify(qtbot, page)
    collect_planned(qtbot, page)
    _, decoded, new = print_labels(qtbot, page)
    assert decoded == new != old

    # The original's timeline says what replaced it.
    dialog = SpecimenTimelineDialog(context, world.users["maria"], accession=old, parent=window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=WAIT_MS)
    last = dialog.model.row_at(dialog.model.rowCount() - 1)
    assert (last.kind, last.note) == (CustodyEventKind.RECOLLECTED, f"recollected by {new}")
    dialog.resize(900, 360)
    screenshot(dialog, "recollection_original_timeline")


def test_a_clinician_cancels_a_recollection_from_the_board(
    qtbot: QtBot,
    context: AppContext,  # noqa: F811
    world: World,  # noqa: F811
    password: str,
    user_named: Callable[[str], SignedInUser],
    monkeypatch: pytest.MonkeyPatch,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    old = rejected_tube(world, password)
    board = ResultsPage(context, user_named("sam"))
    qtbot.addWidget(board)
    board.resize(1280, 800)
    board.poll_timer.stop()
    with qtbot.waitSignal(board.board_loaded, timeout=WAIT_MS):
        board.reload()
    rows = board.model.rows_in(0, board.model.rowCount() - 1)
    position = next(i for i, r in enumerate(rows) if r.accession == old)
    assert board.cancel_recollection_button.isEnabled()
    asked: list[str] = []

    def answer(_parent: QWidget, what: str) -> recollection_cancel.CancelAnswer:
        asked.append(what)
        return recollection_cancel.CancelAnswer("result no longer needed", cancel_tests=True)

    monkeypatch.setattr(recollection_cancel, "ask_cancel", answer)
    board.table.clearSelection()
    board.table.selectRow(position)
    board.cancel_recollection_button.click()
    done = f"Recollection of {old} cancelled (1 tests cancelled)"
    qtbot.waitUntil(lambda: done in board.status_label.text(), timeout=WAIT_MS)
    assert asked == [f"{old}: Haemolysed — CBC"]

    def gone() -> bool:
        return all(r.accession != old for r in board.model.rows_in(0, board.model.rowCount() - 1))

    qtbot.waitUntil(gone, timeout=WAIT_MS)  # the board reloads: the cancelled CBC left it
    screenshot(board, "results_recollection_cancelled")
    with world.uow() as uow:
        replaced = uow.specimens.by_accession(old)
        assert replaced is not None
        task = uow.recollections.for_specimen(replaced.id or 0)
        assert task is not None
        closed = (task.status, task.close_note, task.closed_by_id)
        statuses = [t.status for t in uow.orders.tests_for_specimen(replaced.id or 0)]
        audited = [e.detail for e in uow.audit.all_in_order() if e.entity == "recollection_task"]
    assert closed == (
        RecollectionStatus.CANCELLED,
        "result no longer needed",
        world.users["sam"].id,
    )
    assert statuses == [Status.CANCELLED]
    assert audited[0].startswith("cancelled: result no longer needed")
