"""The station's view of the reconciliation worklist (offscreen, issue 12 item 5).

Only this station's conflicts; resolving is the core's audited command, refused with a
plain message for a role that may not; the offline banner's button and Ctrl+Shift+R open
it; offline it says the worklist needs the server and loads once the station is online.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import func, insert, select

from labdesk.adapters.orm import audit_entries
from labdesk.adapters.orm.downtime import replayed_commands
from labdesk.bootstrap import Core
from labdesk.domain.clock import FixedClock
from labdesk.downtime.mode import Connectivity, StationStatus
from labdesk.downtime.reconcile import Resolution, backfill, items_in, list_items
from labdesk.kernel.dto import SignedInUser
from tests.ui.test_downtime_banner import ONLINE, FakeMode
from ui.app import context_of
from ui.downtime.reconciliation_view import StationReconciliationView
from ui.main_window import MainWindow
from ui.navigation import PageId

HERE = "DRAW-2"  # the ``config`` fixture's station
SCREENSHOT = "/tmp/recon_station.png"


def _refusals(core: Core, clock: FixedClock) -> None:
    """Two refused replays of this station and one of another station."""
    at = clock.now() - timedelta(hours=2)
    rows = [
        ("k-here-1", HERE, "CollectSpecimens", "Ordered test 7 was already collected."),
        ("k-there", "DRAW-1", "CollectSpecimens", "Ordered test 8 was already collected."),
        ("k-here-2", HERE, "PrintLabels", "Ordered test 9 is cancelled; no label."),
    ]
    with core.uow() as uow:
        for seq, (key, station, command, reason) in enumerate(rows, start=1):
            uow.session.execute(
                insert(replayed_commands).values(
                    idempotency_key=key,
                    station=station,
                    seq=seq,
                    command=command,
                    happened_at=at + timedelta(minutes=seq),
                    synced_at=clock.now(),
                    outcome="refused",
                    reason=reason,
                )
            )
        uow.commit()
    assert backfill(core.uow, clock) == 3


def _audited(core: Core) -> int:
    with core.uow() as uow:
        count = uow.session.scalar(
            select(func.count())
            .select_from(audit_entries)
            .where(audit_entries.c.entity == "reconciliation_item")
        )
    return int(count or 0)


def _offline(conflicts: int) -> StationStatus:
    since = datetime.now(UTC) - timedelta(minutes=7)
    return StationStatus(
        Connectivity.OFFLINE, since, "the server did not answer", 1, conflicts, since
    )


def _window(qtbot: QtBot, core: Core, mode: FakeMode, user: SignedInUser) -> MainWindow:
    window = MainWindow(context_of(core, None, mode), user)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def _opened(qtbot: QtBot, window: MainWindow) -> StationReconciliationView:
    view = window.reconciliation
    assert view is not None
    qtbot.waitUntil(lambda: window.pages.currentWidget() is view)
    return view


def test_core_filters_by_station(core: Core, clock: FixedClock) -> None:
    _refusals(core, clock)
    with core.uow() as uow:
        here = [item.idempotency_key for item in items_in(uow, station=HERE)]
        everyone = [item.idempotency_key for item in items_in(uow)]
    assert here == ["k-here-1", "k-here-2"]
    assert everyone == ["k-here-1", "k-there", "k-here-2"]


def test_station_view_shows_only_this_station(
    qtbot: QtBot, core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser]
) -> None:
    _refusals(core, clock)
    window = _window(qtbot, core, FakeMode(core), user_named("maria"))
    assert window.reconciliation_action is not None
    window.reconciliation_action.trigger()
    view = _opened(qtbot, window)
    panel = view.panel
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=10_000)
    keys = [panel.model.row_at(row).idempotency_key for row in range(panel.model.rowCount())]
    assert keys == ["k-here-1", "k-here-2"]
    assert panel.message_label.text() == (
        "Conflicts to reconcile from this station's offline work (station DRAW-2): 2"
    )
    assert panel.table.isColumnHidden(2)  # the station column: always this station
    assert "Ordered test 7 was already collected." in panel.detail.text()
    assert panel.permission_note.isVisible()  # a medical assistant may look, not resolve
    qtbot.wait(50)  # the layout pass after the text changes, as before any real paint
    assert window.grab().save(SCREENSHOT)


def test_a_medical_assistant_is_refused_plainly(
    qtbot: QtBot, core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser]
) -> None:
    _refusals(core, clock)
    window = _window(qtbot, core, FakeMode(core), user_named("maria"))
    window.open_reconciliation()
    panel = _opened(qtbot, window).panel
    qtbot.waitUntil(lambda: panel.current_item() is not None, timeout=10_000)
    panel.resolve_selected()
    qtbot.waitUntil(lambda: panel.message_label.is_error, timeout=10_000)
    text = panel.message_label.text()
    assert text.startswith("Not resolved, nothing was changed")
    assert "Medical assistant" in text
    assert "Admin, Downtime reconciliation" in text
    assert panel.resolve_button.isEnabled()
    assert len(list_items(core.uow)) == 3
    assert _audited(core) == 0


def test_resolving_from_the_station_is_audited(
    qtbot: QtBot, core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser]
) -> None:
    _refusals(core, clock)
    window = _window(qtbot, core, FakeMode(core), user_named("alex"))
    window.show_page(PageId.STATION)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    shift_control = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.page(PageId.STATION), Qt.Key.Key_R, shift_control)
    view = _opened(qtbot, window)
    panel = view.panel
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=10_000)
    assert not panel.permission_note.isVisible()
    panel.resolution_combo.setCurrentIndex(1)
    assert panel.resolution_combo.currentData() == Resolution.RECORD_ADDITIONAL_SPECIMEN
    panel.note_edit.setText("second tube kept")
    with qtbot.waitSignal(panel.loaded, timeout=10_000) as reloaded:
        qtbot.keyClick(panel.note_edit, Qt.Key.Key_Return)
    assert reloaded.args == [1], panel.message_label.text()
    done = {i.idempotency_key: i for i in list_items(core.uow, open_only=False)}
    assert done["k-here-1"].resolution is Resolution.RECORD_ADDITIONAL_SPECIMEN
    assert done["k-here-1"].note == "second tube kept"
    assert done["k-there"].is_open
    assert _audited(core) == 1
    qtbot.keyClick(panel.table, Qt.Key.Key_Escape)  # back to where it was opened from
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.page(PageId.STATION))
    assert window.navigation.currentRow() == window.page_ids.index(PageId.STATION)


def test_banner_button_opens_the_view_and_offline_says_it_needs_the_server(
    qtbot: QtBot, core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser]
) -> None:
    _refusals(core, clock)
    mode = FakeMode(core)
    window = _window(qtbot, core, mode, user_named("maria"))
    banner = window.offline_banner
    mode.set(_offline(conflicts=0))
    qtbot.waitUntil(lambda: banner.isVisible())
    assert not banner.reconcile_button.isVisible()  # nothing to reconcile yet

    mode.set(_offline(conflicts=2))
    qtbot.waitUntil(lambda: banner.reconcile_button.isVisible())
    assert banner.label.text().endswith("; 2 to reconcile")
    qtbot.mouseClick(banner.reconcile_button, Qt.MouseButton.LeftButton)
    view = _opened(qtbot, window)
    qtbot.waitUntil(lambda: view.offline)
    assert view.gate.notice_label.text().startswith(
        "The reconciliation worklist needs the server; it opens again when the station is "
        "back online."
    )
    assert view.gate.notice_label.isVisible()
    assert view.panel.model.rowCount() == 0  # nothing read from the station file

    with qtbot.waitSignal(view.panel.loaded, timeout=10_000) as loaded:
        mode.set(ONLINE)
    assert loaded.args == [2]
    assert not view.offline
    assert view.panel.table.isVisible()


def test_every_kind_has_words_in_the_worklist() -> None:
    from labdesk.downtime.reconcile import ConflictKind
    from ui.admin.reconciliation_panel import _KINDS

    assert set(_KINDS) == {kind.value for kind in ConflictKind}


def test_the_session_lock_hides_the_view(
    qtbot: QtBot, core: Core, clock: FixedClock, user_named: Callable[[str], SignedInUser]
) -> None:
    from ui.session.session_guard import SessionGuard

    _refusals(core, clock)
    mode = FakeMode(core)
    user = user_named("maria")
    window = _window(qtbot, core, mode, user)
    guard = SessionGuard(window, context_of(core, None, mode), user)
    window.open_reconciliation()
    view = _opened(qtbot, window)
    qtbot.waitUntil(lambda: view.panel.model.rowCount() == 2, timeout=10_000)
    assert view.isVisible()
    guard.lock("Locked by hand.")
    assert not view.isVisible()  # a page of the window, not a window of its own
    assert window.reconciliation_action is not None
    assert not window.reconciliation_action.isEnabled()
    guard.stop()
