"""Admin → Users: Add… and Set role through the real widgets (issue 11 item 6).

Both crashed with an ``AssertionError``: the role combo handed back ``"courier"`` (Qt keeps
a ``StrEnum`` as a plain ``str``), not ``Role.COURIER``. The combo must also follow the
selected user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from ui.admin.page import AdminPage
from ui.admin.role_combo import RoleComboBox
from ui.admin.user_dialog import NewUserDialog
from ui.admin.users_panel import UsersPanel
from ui.context import AppContext
from ui.navigation import role_label
from ui.tasks import wait_for_background_jobs

WAIT_MS = 10_000


@pytest.fixture
def page(
    qtbot: QtBot, app_context: AppContext, user_named: Callable[[str], SignedInUser]
) -> Iterator[AdminPage]:
    """A real Admin page signed in as the administrator, on its Users tab, list loaded."""
    page = AdminPage(app_context, user_named("alex"))
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    page.tabs.setCurrentWidget(page.access.users)
    qtbot.waitUntil(lambda: page.access.users.model.rowCount() == 5, timeout=WAIT_MS)
    yield page
    # The page's tabs load in the background: once no job is left, delete it here, on the
    # main thread, instead of whenever a garbage collection runs (maybe on a pool thread).
    wait_for_background_jobs()
    shiboken6.delete(page)


@pytest.fixture
def users(page: AdminPage) -> UsersPanel:
    """The Users tab of ``page`` (which the test keeps alive)."""
    return page.access.users


def _role_in_database(core: Core, username: str) -> Role | None:
    with core.uow() as uow:
        user = uow.people.user_by_username(username)
        return None if user is None else user.role


def _choose(combo: QComboBox, role: Role) -> None:
    """Pick ``role`` the way a user does: by the text shown in the list."""
    index = combo.findText(role_label(role))
    assert index >= 0
    combo.setCurrentIndex(index)


def test_the_role_combo_gives_back_a_role(qtbot: QtBot) -> None:
    combo = RoleComboBox()
    qtbot.addWidget(combo)
    assert combo.count() == len(Role)
    for role in Role:
        _choose(combo, role)
        assert combo.role() is role
        combo.set_role(Role.MEDICAL_ASSISTANT)
        combo.set_role(role)
        assert combo.currentText() == role_label(role)


def test_add_creates_the_user_with_the_chosen_role(
    qtbot: QtBot, users: UsersPanel, core: Core
) -> None:
    filled: list[NewUserDialog] = []

    def fill_in() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, NewUserDialog)
        filled.append(dialog)
        dialog.username_edit.setText("nia")
        dialog.name_edit.setText("Nia Tran")
        _choose(dialog.role_combo, Role.LAB_RECEIVER)  # not the first entry
        dialog.password_edit.setText("temporary marmalade sandwich")
        box = dialog.findChild(QDialogButtonBox)
        assert box is not None
        ok = box.button(QDialogButtonBox.StandardButton.Ok)
        assert ok is not None
        ok.click()

    QTimer.singleShot(0, fill_in)
    with qtbot.waitSignal(users.loaded, timeout=WAIT_MS):
        users.buttons["Add"].click()
    assert filled, "the Add user dialog did not open"
    assert not users.message_label.is_error, users.message_label.text()
    assert users.message_label.text() == "Created nia."
    assert users.model.rowCount() == 6
    assert _role_in_database(core, "nia") is Role.LAB_RECEIVER


def test_selecting_a_user_shows_their_role(users: UsersPanel) -> None:
    for username, role in (
        ("chris", Role.COURIER),
        ("sam", Role.CLINICIAN),
        ("maria", Role.MEDICAL_ASSISTANT),
        ("alex", Role.ADMIN),
    ):
        users.select_user(username)
        assert users.selected() is not None
        assert users.role_combo.currentText() == role_label(role), username


def test_set_role_changes_the_selected_users_role(
    qtbot: QtBot, users: UsersPanel, core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No confirmation is expected; a message box would block the test, so fail loudly.
    def no_box(*_args: object) -> QMessageBox.StandardButton:
        raise AssertionError("Set role asked a question")

    monkeypatch.setattr(QMessageBox, "question", no_box)
    users.select_user("maria")
    assert users.role_combo.currentText() == role_label(Role.MEDICAL_ASSISTANT)
    _choose(users.role_combo, Role.COURIER)
    with qtbot.waitSignal(users.loaded, timeout=WAIT_MS):
        users.buttons["Set role"].click()
    assert not users.message_label.is_error, users.message_label.text()
    assert users.message_label.text() == "maria is now Courier."
    assert _role_in_database(core, "maria") is Role.COURIER
    users.select_user("sam")  # the combo follows the selection again after the reload
    assert users.role_combo.currentText() == role_label(Role.CLINICIAN)
    users.select_user("maria")
    assert users.role_combo.currentText() == role_label(Role.COURIER)
