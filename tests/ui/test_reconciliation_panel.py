"""Downtime reconciliation worklist (offscreen): both sides shown, only allowed choices,
resolving keyboard-first and audited (issue 12 item 5)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import func, insert, select

from labdesk.adapters.orm import audit_entries
from labdesk.adapters.orm.downtime import replayed_commands
from labdesk.bootstrap import Core
from labdesk.domain.clock import FixedClock
from labdesk.downtime.reconcile import Resolution, backfill, list_items
from labdesk.kernel.dto import SignedInUser
from ui.admin.reconciliation_panel import ReconciliationPanel
from ui.context import AppContext

NOTES = Path("/work/notes/s22")


def _refusals(core: Core, clock: FixedClock) -> None:
    at = clock.now() - timedelta(hours=2)
    rows = [
        ("k-a", "CollectSpecimens", "Ordered test 7 was already collected at DRAW-1."),
        ("k-b", "PrintLabels", "Ordered test 9 is cancelled; no label."),
    ]
    with core.uow() as uow:
        for seq, (key, command, reason) in enumerate(rows, start=1):
            uow.session.execute(
                insert(replayed_commands).values(
                    idempotency_key=key,
                    station="DRAW-2",
                    seq=seq,
                    command=command,
                    happened_at=at + timedelta(minutes=seq),
                    synced_at=clock.now(),
                    outcome="refused",
                    reason=reason,
                )
            )
        uow.commit()
    assert backfill(core.uow, clock) == 2


def test_worklist_resolves_with_the_keyboard(
    qtbot: QtBot,
    core: Core,
    app_context: AppContext,
    clock: FixedClock,
    user_named: Callable[[str], SignedInUser],
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    _refusals(core, clock)
    panel = ReconciliationPanel(app_context, user_named("alex"))
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.loaded, timeout=10_000) as blocker:
        pass
    assert blocker.args == [2]
    panel.resize(1100, 420)
    panel.show()
    first = panel.current_item()
    assert first is not None
    assert first.idempotency_key == "k-a"
    combo = panel.resolution_combo
    choices = [Resolution(combo.itemData(i)) for i in range(combo.count())]
    assert choices == [
        Resolution.KEEP_SERVER_DISCARD_OFFLINE,
        Resolution.RECORD_ADDITIONAL_SPECIMEN,
    ]
    assert "already collected" in panel.detail.text()
    NOTES.mkdir(parents=True, exist_ok=True)
    assert panel.grab().save(str(NOTES / "reconciliation.png"))
    screenshot(panel, "reconciliation")
    panel.resolution_combo.setCurrentIndex(1)
    panel.note_edit.setText("second tube kept")
    with qtbot.waitSignal(panel.loaded, timeout=10_000) as reloaded:
        qtbot.keyClick(panel.note_edit, Qt.Key.Key_Return)
    assert reloaded.args == [1], panel.message_label.text()
    (done,) = [i for i in list_items(core.uow, open_only=False) if i.idempotency_key == "k-a"]
    assert done.resolution is Resolution.RECORD_ADDITIONAL_SPECIMEN
    assert done.note == "second tube kept"
    with core.uow() as uow:
        audited = uow.session.scalar(
            select(func.count())
            .select_from(audit_entries)
            .where(audit_entries.c.entity == "reconciliation_item")
        )
    assert audited == 1


def test_a_courier_is_refused_and_nothing_changes(
    qtbot: QtBot,
    core: Core,
    app_context: AppContext,
    clock: FixedClock,
    user_named: Callable[[str], SignedInUser],
) -> None:
    _refusals(core, clock)
    panel = ReconciliationPanel(app_context, user_named("chris"))
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        pass
    panel.resolve_selected()
    qtbot.waitUntil(lambda: panel.resolve_button.isEnabled(), timeout=10_000)
    assert len(list_items(core.uow)) == 2
