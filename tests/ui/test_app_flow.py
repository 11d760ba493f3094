"""The shell end to end: connect, sign in, role pages, status bar, sign out."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.config import Config
from labdesk.domain.audit import AuditAction
from ui.admin.page import AdminPage
from ui.app import AppController
from ui.main_window import MainWindow
from ui.navigation import PageId
from ui.tasks import wait_for_background_jobs


@pytest.fixture
def controller(qtbot: QtBot, core: Core) -> Iterator[AppController]:
    """An app controller on ``core``'s database, connected and showing the sign-in."""
    controller = AppController(core.config)
    qtbot.addWidget(controller.sign_in)
    controller.start()
    with qtbot.waitSignal(controller.core_ready):
        controller.connect_database()
    yield controller
    if controller.main_window is not None:
        qtbot.addWidget(controller.main_window)
    controller.shutdown()


def _sign_in(qtbot: QtBot, controller: AppController, username: str, password: str) -> MainWindow:
    form = controller.sign_in
    qtbot.keyClicks(form.username_edit, username)
    qtbot.keyClicks(form.password_edit, password)
    qtbot.keyClick(form.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: controller.main_window is not None)
    window = controller.main_window
    assert window is not None
    qtbot.addWidget(window)
    return window


def _nav_titles(window: MainWindow) -> list[str]:
    nav = window.navigation
    return [nav.item(row).text() for row in range(nav.count())]


def test_medical_assistant_sees_only_station(
    qtbot: QtBot, controller: AppController, password: str
) -> None:
    window = _sign_in(qtbot, controller, "maria", password)
    assert _nav_titles(window) == ["Station"]
    assert not controller.sign_in.isVisible()
    assert window.isVisible()


@pytest.mark.parametrize(
    ("username", "titles"),
    [
        ("chris", ["Courier"]),
        ("lena", ["Lab receiving"]),
        ("sam", ["Results", "Result worklist"]),
    ],
)
def test_other_roles_see_their_page(
    qtbot: QtBot, controller: AppController, password: str, username: str, titles: list[str]
) -> None:
    window = _sign_in(qtbot, controller, username, password)
    assert _nav_titles(window) == titles


def test_admin_sees_all_pages_and_the_catalog(
    qtbot: QtBot,
    controller: AppController,
    password: str,
    qtmodeltester: ModelTester,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    window = _sign_in(qtbot, controller, "alex", password)
    assert _nav_titles(window) == [
        "Station",
        "Courier",
        "Lab receiving",
        "Results",
        "Result worklist",
        "Admin",
    ]
    admin = window.page(PageId.ADMIN)
    assert isinstance(admin, AdminPage)
    qtbot.waitUntil(lambda: admin.model.rowCount() >= 25)
    qtmodeltester.check(admin.model)
    qtmodeltester.check(admin.table.model())
    assert admin.status_label.text() == f"Tests in the catalog: {admin.model.rowCount()}"
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is admin
    assert window.navigation.currentRow() == 5
    screenshot(window, "admin_catalog")


def test_status_bar_shows_user_station_database_printer(
    qtbot: QtBot, controller: AppController, password: str, core: Core
) -> None:
    window = _sign_in(qtbot, controller, "maria", password)
    bar = window.status_bar
    assert bar.user_label.text() == "Maria Alvarez (Medical assistant)"
    assert bar.station_label.text() == "Station DRAW-2"
    assert bar.database_label.text() == core.database_description
    assert bar.printer_label.text() == "Label printer: not configured"
    bar.set_printer_state("Label printer: ready", ok=True)
    assert bar.printer_label.text() == "Label printer: ready"


def test_ctrl_l_signs_out_to_the_sign_in_window(
    qtbot: QtBot, controller: AppController, password: str, core: Core
) -> None:
    window = _sign_in(qtbot, controller, "maria", password)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert controller.main_window is None
    assert controller.sign_in.isVisible()
    assert controller.sign_in.username_edit.text() == ""
    assert controller.sign_in.message_label.text() == "Signed out."
    qtbot.waitUntil(lambda: not shiboken6.isValid(window))
    assert wait_for_background_jobs(5000)
    qtbot.waitUntil(lambda: _audited_actions(core)[-1:] == [AuditAction.SIGN_OUT])
    assert _audited_actions(core)[-2:] == [AuditAction.SIGN_IN, AuditAction.SIGN_OUT]


def _audited_actions(core: Core) -> list[AuditAction]:
    with core.uow() as uow:
        return [entry.action for entry in uow.audit.all_in_order()]


def test_unusable_database_shows_the_storage_error(qtbot: QtBot, config: Config) -> None:
    controller = AppController(replace(config, database_url="mysql://db.example/labdesk"))
    qtbot.addWidget(controller.sign_in)
    controller.start()
    controller.connect_database()
    form = controller.sign_in
    qtbot.waitUntil(lambda: form.message_label.is_error)
    assert form.message_label.text().startswith("Unsupported database 'mysql'")
    assert not form.sign_in_button.isEnabled()
    assert form.retry_button.isVisibleTo(form)
    controller.shutdown()


def test_demo_mode_lists_demo_accounts(qtbot: QtBot, core: Core) -> None:
    controller = AppController(replace(core.config, demo=True))
    qtbot.addWidget(controller.sign_in)
    controller.start()
    with qtbot.waitSignal(controller.core_ready):
        controller.connect_database()
    text = controller.sign_in.demo_label.text()
    assert "ma, courier, lab, doctor, admin" in text
    assert "labdesk-demo" in text
    controller.shutdown()


def test_cold_start_paints_sign_in_before_importing_the_database_layer(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LABDESK_DATA_DIR": str(tmp_path)}
    env["LABDESK_CONFIG"] = str(tmp_path / "absent.toml")
    env.pop("LABDESK_DATABASE_URL", None)
    code = (
        "import sys; from ui.app import main; rc = main(['--exit-after-shown']); "
        "assert 'sqlalchemy' not in sys.modules, 'SQLAlchemy imported before first paint'; "
        "sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "labdesk.sqlite3").exists()  # no database work at all
