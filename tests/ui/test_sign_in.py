"""Sign-in window: states, inline errors, background authentication."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from ui.app import authenticator_for
from ui.session.sign_in import SignInWidget


def _ready_widget(qtbot: QtBot, core: Core) -> SignInWidget:
    widget = SignInWidget("DRAW-2")
    qtbot.addWidget(widget)
    widget.set_ready(authenticator_for(core))
    widget.show()
    return widget


def _type_credentials(qtbot: QtBot, widget: SignInWidget, username: str, password: str) -> None:
    qtbot.keyClicks(widget.username_edit, username)
    qtbot.keyClicks(widget.password_edit, password)
    qtbot.keyClick(widget.password_edit, Qt.Key.Key_Return)


def test_sign_in_wrong_password_shows_error_inline(qtbot: QtBot, core: Core) -> None:
    widget = _ready_widget(qtbot, core)
    with qtbot.assertNotEmitted(widget.signed_in):
        _type_credentials(qtbot, widget, "maria", "not the password")
        qtbot.waitUntil(lambda: widget.message_label.is_error)
    assert widget.message_label.text().startswith("Wrong user name or password. Try again")
    assert widget.password_edit.text() == ""
    assert widget.sign_in_button.isEnabled()


def test_sign_in_ok_emits_user(qtbot: QtBot, core: Core, password: str) -> None:
    widget = _ready_widget(qtbot, core)
    with qtbot.waitSignal(widget.signed_in) as blocker:
        _type_credentials(qtbot, widget, "Maria", password)  # user names ignore case
    user = blocker.args[0]
    assert isinstance(user, SignedInUser)
    assert (user.username, user.role) == ("maria", Role.MEDICAL_ASSISTANT)
    assert widget.password_edit.text() == ""


def test_sign_in_waits_for_the_database(qtbot: QtBot) -> None:
    widget = SignInWidget("DRAW-2")
    qtbot.addWidget(widget)
    widget.set_connecting()
    assert widget.message_label.text() == "Connecting to database…"
    assert not widget.sign_in_button.isEnabled()
    assert widget.username_edit.isEnabled()  # typing ahead is fine


def test_sign_in_asks_for_missing_password(qtbot: QtBot, core: Core) -> None:
    widget = _ready_widget(qtbot, core)
    qtbot.keyClicks(widget.username_edit, "maria")
    widget.submit()
    assert widget.message_label.is_error
    assert widget.message_label.text() == "Enter your password."


def test_show_password_toggle(qtbot: QtBot, core: Core) -> None:
    widget = _ready_widget(qtbot, core)
    assert widget.password_edit.echoMode() == QLineEdit.EchoMode.Password
    widget.show_password_check.setChecked(True)
    assert widget.password_edit.echoMode() == QLineEdit.EchoMode.Normal
    widget.reset()
    assert widget.password_edit.echoMode() == QLineEdit.EchoMode.Password


def test_sign_in_screenshot(
    qtbot: QtBot, core: Core, screenshot: Callable[[QWidget, str], Path]
) -> None:
    widget = _ready_widget(qtbot, core)
    widget.show_demo_accounts(["ma", "courier", "lab", "doctor", "admin"], "labdesk-demo")
    qtbot.keyClicks(widget.username_edit, "maria")
    qtbot.keyClicks(widget.password_edit, "wrong-password")
    qtbot.keyClick(widget.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: widget.message_label.is_error)
    qtbot.keyClicks(widget.password_edit, "secret")
    screenshot(widget, "sign_in")
