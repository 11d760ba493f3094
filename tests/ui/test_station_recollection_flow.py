"""Issue 11 item 3: a rejected tube drawn again from the station's "To recollect" list.

The assistant opens the task, confirms the patient's identifiers, sees the banner and a
plan holding only the rejected test, collects, prints (the label is decoded), scans the
tube back and finishes: the task leaves the list. A task can also be cancelled with a
reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from custody_world import World
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.recollection import RecollectionStatus
from labdesk.results.board import load_board
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
from tests.ui.station_window import scan, station_of, wait_view
from ui.main_window import MainWindow
from ui.station.banner import Step


def test_recollection_from_the_worklist_to_scan_back(
    qtbot: QtBot,
    window: MainWindow,  # noqa: F811
    world: World,  # noqa: F811
    password: str,
    labels_dir: Path,  # noqa: F811
    qtmodeltester: ModelTester,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    old = rejected_tube(world, password)
    page = station_of(window)
    open_task(qtbot, window)
    qtmodeltester.check(page.find_step.recollect_model)
    qtbot.waitUntil(lambda: page.step is Step.IDENTIFY, timeout=WAIT_MS)
    assert "Recollection of" in page.banner.recollection_label.text()

    # The identifiers are checked as for any visit: name and date of birth.
    identify(qtbot, page)

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

    collect_planned(qtbot, page)
    assert banner.text().startswith(f"Recollection of {old} (haemolysed) — drawn again as ")

    outcome, decoded, new = print_labels(qtbot, page)
    assert outcome.all_printed  # type: ignore[attr-defined]
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
    window: MainWindow,  # noqa: F811
    world: World,  # noqa: F811
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
    open_task(qtbot, window)
    qtbot.waitUntil(lambda: page.step is Step.IDENTIFY, timeout=WAIT_MS)
    assert not page.plan_step.cancel_recollection_button.isVisibleTo(page.plan_step)
