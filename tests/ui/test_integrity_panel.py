"""The Admin page's Integrity panel verifies the custody chains in the background."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from access_world import drop_append_only_guard
from custody_world import World
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from labdesk.bootstrap import Core
from labdesk.custody.dto import FindingKind, VerifyReport
from labdesk.domain.clock import FixedClock
from labdesk.kernel.dto import SignedInUser
from ui.admin.integrity_panel import IntegrityPanel
from ui.admin.page import AdminPage
from ui.context import AppContext

WAIT_MS = 10_000


def test_integrity_panel_reports_intact_then_tampered_chains(
    qtbot: QtBot,
    core: Core,
    clock: FixedClock,
    app_context: AppContext,
    user_named: Callable[[str], SignedInUser],
    qtmodeltester: Any,
    screenshot: Any,
) -> None:
    world = World.on_existing(core.uow, clock, {"maria": user_named("maria")})
    accession = world.specimen()
    panel = IntegrityPanel(app_context, user_named("alex"))
    qtbot.addWidget(panel)

    with qtbot.waitSignal(panel.verified, timeout=WAIT_MS) as first:
        panel.button.click()
    assert isinstance(first.args[0], VerifyReport)
    assert first.args[0].ok
    assert "both chains intact" in panel.result.text()

    drop_append_only_guard(core.engine, "custody_events")
    with core.engine.begin() as conn:
        conn.execute(text("UPDATE custody_events SET location = 'elsewhere' WHERE seq = 2"))
    with qtbot.waitSignal(panel.verified, timeout=WAIT_MS) as second:
        panel.button.click()
    report = second.args[0]
    assert [f.kind for f in report.findings] == [FindingKind.MODIFIED]
    assert panel.table.isVisibleTo(panel)
    assert panel.model.index(0, 3).data() == accession
    qtmodeltester.check(panel.model)
    panel.resize(1280, 400)
    screenshot(panel, "integrity_panel")


def test_admin_page_carries_the_panel(
    qtbot: QtBot, app_context: AppContext, user_named: Callable[[str], SignedInUser]
) -> None:
    page = AdminPage(app_context, user_named("alex"))
    qtbot.addWidget(page)
    assert isinstance(page.integrity, IntegrityPanel)
