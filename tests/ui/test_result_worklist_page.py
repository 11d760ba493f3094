"""The result worklist page (issue 11 item 4c): match and dismiss through the widgets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from custody_world import World
from PySide6.QtCore import QItemSelectionModel
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.custody.events import Handoff, record_event
from labdesk.custody.receipt import reject_specimen
from labdesk.domain.accession import make_accession
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.people import Role
from labdesk.domain.permissions import Permission, allows
from labdesk.domain.recollection import RejectionReason
from labdesk.interface.ingest import Ingestor
from labdesk.kernel.dto import SignedInUser
from tests.integration.hl7_world import group, obx, oru
from ui.context import AppContext
from ui.navigation import PageId, pages_for
from ui.results.worklist_page import ResultWorklistPage

WAIT_MS = 10_000
MRN = "M100001"
NEVER_ISSUED = make_accession(2026, 993)  # valid check digit, never issued


@pytest.fixture
def world(core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser]) -> World:
    users = {name: user_named(name) for name in ("maria", "lena", "sam")}
    return World.on_existing(core.uow, clock, users)


def _tube(world: World) -> tuple[str, str, int]:
    """A potassium tube on its way to the lab: accession, placer order, test id."""
    accession = world.specimen(tests=("K",), container="PST")
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        assert specimen.id is not None
        record_event(
            uow,
            world.clock,
            specimen,
            CustodyEventKind.PICKED_UP,
            Handoff(actor_id=world.users["maria"].id, location="CLINIC"),
        )
        (test,) = uow.orders.tests_for_specimen(specimen.id)
        order = uow.orders.get(test.order_id)
        assert order is not None
        assert test.id is not None
        uow.commit()
        return accession, order.placer_order_number, test.id


def _status(world: World, test_id: int) -> Status:
    with world.uow() as uow:
        test = uow.hl7.ordered_test(test_id)
        assert test is not None
        return test.status


def _select(page: ResultWorklistPage, accession: str) -> None:
    rows = [page.model.row_at(n).accession for n in range(page.model.rowCount())]
    index = page.table.model().mapFromSource(page.model.index(rows.index(accession), 0))  # type: ignore[attr-defined]
    page.table.selectionModel().select(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


def test_match_and_dismiss_through_the_page(
    qtbot: QtBot,
    app_context: AppContext,
    world: World,
    clock: FixedClock,
    qtmodeltester: Any,
    screenshot: Callable[..., Any],
) -> None:
    rejected, _placer, rejected_k = _tube(world)
    _waiting, placer, waiting_k = _tube(world)
    with world.uow() as uow:
        reject_specimen(uow, clock, world.users["lena"], rejected, RejectionReason.HAEMOLYSED)
    ingestor = Ingestor(app_context.uow, clock, timezone="UTC")
    for control, filler, order in (("W1", rejected, ""), ("W2", NEVER_ISSUED, placer)):
        message = oru(control, group("K", "F", obx("K", "4.2"), filler=filler, placer=order))
        assert "MSA|AA" in ingestor.handle_frame(message.replace("M0000001", MRN), "lab").ack

    page = ResultWorklistPage(app_context, world.users["sam"])
    qtbot.addWidget(page)
    page.resize(1280, 560)
    with qtbot.waitSignal(page.loaded, timeout=WAIT_MS) as shown:
        page.show()
    assert shown.args == [2]
    qtmodeltester.check(page.model)
    kinds = {page.model.row_at(n).accession: page.model.index(n, 1).data() for n in range(2)}
    assert kinds == {rejected: "Discrepancy", NEVER_ISSUED: "Unmatched"}
    assert not page.match_button.isEnabled()

    # Match the unmatched result to the waiting tube's test, picked in the dialog's list.
    _select(page, NEVER_ISSUED)
    assert "does not exist here" in page.reason_label.text()
    screenshot(page, "result_worklist")
    page.match_button.click()
    qtbot.waitUntil(lambda: page.match_dialog is not None, timeout=WAIT_MS)
    dialog = page.match_dialog
    assert dialog is not None
    qtmodeltester.check(dialog.model)
    offered = [dialog.model.row_at(n) for n in range(dialog.model.rowCount())]
    assert {c.ordered_test_id for c in offered} == {rejected_k, waiting_k}
    assert dialog.choice() is None  # nothing preset for a result that names no test
    screenshot(dialog, "result_worklist_match")
    dialog.select_candidate([c.ordered_test_id for c in offered].index(waiting_k))
    with qtbot.waitSignal(page.matched, timeout=WAIT_MS) as matched:
        dialog.match_button.click()
    assert matched.args == [1]
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=WAIT_MS)
    assert _status(world, waiting_k) is Status.FINAL

    # Dismiss the discrepancy: a reason is required; the rejection stands.
    _select(page, rejected)
    page.dismiss_button.click()
    confirm = page.dismiss_dialog
    assert confirm is not None
    assert not confirm.dismiss_button.isEnabled()
    qtbot.keyClicks(confirm.reason_edit, "lab confirmed the haemolysis")
    assert confirm.dismiss_button.isEnabled()
    with qtbot.waitSignal(page.dismissed, timeout=WAIT_MS):
        confirm.dismiss_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=WAIT_MS)
    assert _status(world, rejected_k) is Status.REJECTED
    assert "Nothing waits" in page.status_label.text()


def test_the_page_is_shown_to_exactly_the_roles_that_may_match_results() -> None:
    for role in Role:
        shown = PageId.RESULT_WORKLIST in pages_for(role)
        assert shown == allows(role, Permission.MATCH_RESULTS), role
