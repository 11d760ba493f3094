"""Admin tabs: users, roles, stations, audit viewer (models checked, errors inline, screenshots)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from labdesk.access.users import NewUser
from labdesk.bootstrap import Core
from labdesk.domain.audit import AuditAction
from labdesk.domain.people import Role
from labdesk.domain.permissions import Permission
from labdesk.kernel.dto import SignedInUser
from labdesk.station.patients import search_patients
from ui.admin.audit_viewer import AuditViewer
from ui.admin.page import AdminPage
from ui.admin.roles_panel import YES, RolesPanel
from ui.admin.stations_panel import StationsPanel
from ui.admin.users_panel import UsersPanel
from ui.context import AppContext

INJECTIONS = ["'; DROP TABLE users; --", "' OR 1=1 --", "%_%", "scan\x00noise"]


@pytest.fixture
def admin(user_named: Callable[[str], SignedInUser]) -> SignedInUser:
    return user_named("alex")


def _users(qtbot: QtBot, app_context: AppContext, admin: SignedInUser) -> UsersPanel:
    panel = UsersPanel(app_context, admin)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 5)
    return panel


def test_users_panel_lists_and_adds(
    qtbot: QtBot, app_context: AppContext, admin: SignedInUser, qtmodeltester: ModelTester
) -> None:
    panel = _users(qtbot, app_context, admin)
    qtmodeltester.check(panel.model)
    qtmodeltester.check(panel.table.model())
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.add_user(
            NewUser(
                username="nia",
                display_name="Nia Tran",
                role=Role.COURIER,
                password="temporary marmalade sandwich",
            )
        )
    assert panel.model.rowCount() == 6
    assert panel.message_label.text() == "Created nia."


def test_disabling_the_last_admin_is_refused_inline(
    qtbot: QtBot, app_context: AppContext, admin: SignedInUser
) -> None:
    panel = _users(qtbot, app_context, admin)
    panel.select_user("alex")
    with qtbot.waitSignal(panel.failed, timeout=10_000) as blocker:
        panel.set_active(False)
    assert "last active administrator" in blocker.args[0]
    assert panel.message_label.is_error
    assert "Make another user an administrator first." in panel.message_label.text()


def test_weak_password_reset_says_why(
    qtbot: QtBot, app_context: AppContext, admin: SignedInUser
) -> None:
    panel = _users(qtbot, app_context, admin)
    panel.select_user("maria")
    with qtbot.waitSignal(panel.failed, timeout=10_000) as blocker:
        panel.reset_password("password")
    assert "at least 15" in blocker.args[0]


def test_an_action_needs_a_selection(
    qtbot: QtBot, app_context: AppContext, admin: SignedInUser
) -> None:
    panel = _users(qtbot, app_context, admin)
    panel.unlock()
    assert panel.message_label.text() == "Select a user first."


def test_roles_panel_shows_the_matrix(qtbot: QtBot, qtmodeltester: ModelTester) -> None:
    panel = RolesPanel()
    qtbot.addWidget(panel)
    qtmodeltester.check(panel.model)
    rows = [panel.model.row_at(r) for r in range(panel.model.rowCount())]
    demographics = rows.index(Permission.VIEW_PATIENT_DEMOGRAPHICS)
    courier_column = 1 + list(Role).index(Role.COURIER)
    clinician_column = 1 + list(Role).index(Role.CLINICIAN)
    assert panel.model.index(demographics, courier_column).data() == ""
    assert panel.model.index(demographics, clinician_column).data() == YES


def test_stations_panel_registers_a_station(
    qtbot: QtBot, app_context: AppContext, admin: SignedInUser, qtmodeltester: ModelTester
) -> None:
    panel = StationsPanel(app_context, admin)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.saved, timeout=10_000):
        panel.save_site("NORTH", "North clinic", "America/Chicago", False)
    panel.save_station("draw-2", "Chair 2", "north")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=10_000)
    assert panel.model.index(0, 0).data() == "DRAW-2"
    qtmodeltester.check(panel.model)
    panel.save_station("bad code!", "Chair", "NORTH")
    qtbot.waitUntil(lambda: panel.message_label.is_error)
    assert "not a valid station code" in panel.message_label.text()


def _viewer(qtbot: QtBot, app_context: AppContext, admin: SignedInUser) -> AuditViewer:
    viewer = AuditViewer(app_context, admin)
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.message_label.text().startswith("Entries"))
    return viewer


def test_audit_viewer_filters_sorts_and_exports(
    qtbot: QtBot,
    app_context: AppContext,
    core: Core,
    admin: SignedInUser,
    user_named: Callable[[str], SignedInUser],
    tmp_path: Path,
    qtmodeltester: ModelTester,
) -> None:
    maria = user_named("maria")
    with core.uow() as uow:
        search_patients(uow, core.clock, maria, "smith")
    viewer = _viewer(qtbot, app_context, admin)
    assert viewer.model.rowCount() == 2  # Smith and Smithers seen
    qtmodeltester.check(viewer.model)
    qtmodeltester.check(viewer.table.model())
    viewer.user_edit.setText("maria")
    viewer.action_combo.setCurrentIndex(viewer.action_combo.findData(AuditAction.VIEW))
    with qtbot.waitSignal(viewer.loaded):
        viewer.search()
    assert viewer.model.rowCount() == 2
    viewer.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    ids = [viewer.table.model().index(r, 0).data() for r in range(2)]
    assert ids == sorted(ids, key=int)
    viewer.user_edit.setText("lena")
    with qtbot.waitSignal(viewer.loaded):
        viewer.search()
    assert viewer.model.rowCount() == 0
    viewer.user_edit.clear()
    viewer.action_combo.setCurrentIndex(0)
    path = tmp_path / "audit.csv"
    with qtbot.waitSignal(viewer.exported, timeout=10_000) as blocker:
        viewer.export_csv(path)
    assert blocker.args == [2]
    assert len(list(csv.DictReader(path.open(encoding="utf-8")))) == 2


@pytest.mark.parametrize("needle", INJECTIONS)
def test_audit_viewer_filters_take_injection_strings(
    qtbot: QtBot, app_context: AppContext, admin: SignedInUser, needle: str
) -> None:
    viewer = _viewer(qtbot, app_context, admin)
    for edit in (viewer.user_edit, viewer.record_edit, viewer.text_edit):
        edit.setText(needle)
    viewer.entity_combo.setCurrentText(needle)
    with qtbot.waitSignal(viewer.loaded):
        viewer.search()
    assert viewer.model.rowCount() == 0
    assert not viewer.message_label.is_error


def test_audit_viewer_verifies_the_chain(
    qtbot: QtBot, app_context: AppContext, admin: SignedInUser
) -> None:
    viewer = _viewer(qtbot, app_context, admin)
    with qtbot.waitSignal(viewer.verified, timeout=10_000) as blocker:
        viewer.verify()
    assert blocker.args[0].ok
    assert viewer.message_label.text().startswith("The audit log is intact")


def test_admin_page_tabs_screenshots(
    qtbot: QtBot,
    app_context: AppContext,
    admin: SignedInUser,
    core: Core,
    user_named: Callable[[str], SignedInUser],
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    with core.uow() as uow:
        search_patients(uow, core.clock, user_named("maria"), "smith")
    page = AdminPage(app_context, admin)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    qtbot.waitUntil(lambda: page.access.users.model.rowCount() == 5)
    qtbot.waitUntil(lambda: page.access.audit.model.rowCount() >= 2)
    titles = [page.tabs.tabText(i) for i in range(page.tabs.count())]
    assert titles[:5] == ["Catalog", "Users", "Roles", "Stations", "Audit log"]
    for index, name in ((1, "admin_users"), (2, "admin_roles"), (4, "admin_audit")):
        page.tabs.setCurrentIndex(index)
        screenshot(page, name)
