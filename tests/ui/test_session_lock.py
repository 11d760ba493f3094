"""Auto-lock with a fake clock: data hidden, work kept, same user unlocks, another switches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QAction, QMouseEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.domain.audit import AuditAction
from labdesk.kernel.dto import SignedInUser
from ui.app import AppController
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.session.session_guard import SessionGuard
from ui.tasks import wait_for_background_jobs

FIVE_MINUTES = 5 * 60


class FakeMonotonic:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeMonotonic:
    return FakeMonotonic()


def _window(
    qtbot: QtBot,
    app_context: AppContext,
    user: SignedInUser,
    clock: FakeMonotonic,
    confirm: Callable[[QWidget, str], bool] = lambda _parent, _text: True,
) -> tuple[MainWindow, SessionGuard]:
    window = MainWindow(app_context, user)
    qtbot.addWidget(window)
    guard = SessionGuard(window, app_context, user, clock=clock, confirm=confirm)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window, guard


def _typed_field(window: MainWindow) -> QLineEdit:
    """The first visible text field of the current page, with some work typed in."""
    page = window.pages.currentWidget()
    assert page is not None
    field = next(e for e in page.findChildren(QLineEdit) if e.isVisible() and e.isEnabled())
    field.setText("smith 1980")
    return field


def _audit(core: Core) -> list[tuple[AuditAction, str]]:
    assert wait_for_background_jobs(10_000)
    with core.uow() as uow:
        return [(e.action, e.outcome) for e in uow.audit.all_in_order()]


def test_locks_after_the_configured_idle_time_only(
    qtbot: QtBot,
    app_context: AppContext,
    user_named: Callable[[str], SignedInUser],
    fake_clock: FakeMonotonic,
) -> None:
    window, guard = _window(qtbot, app_context, user_named("maria"), fake_clock)
    assert app_context.config.auto_lock_minutes == 5
    fake_clock.advance(FIVE_MINUTES - 1)
    guard.monitor.check()
    assert not guard.is_locked
    # Any input counts as activity and restarts the count.
    QApplication.sendEvent(
        window,
        QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(10, 10),
            QPointF(10, 10),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        ),
    )
    fake_clock.advance(FIVE_MINUTES - 1)
    guard.monitor.check()
    assert not guard.is_locked
    with qtbot.waitSignal(guard.locked):
        fake_clock.advance(1)
        guard.monitor.check()
    assert guard.is_locked


def test_lock_hides_patient_data_and_keeps_the_work(
    qtbot: QtBot,
    app_context: AppContext,
    user_named: Callable[[str], SignedInUser],
    fake_clock: FakeMonotonic,
    password: str,
    core: Core,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    window, guard = _window(qtbot, app_context, user_named("maria"), fake_clock)
    field = _typed_field(window)
    fake_clock.advance(FIVE_MINUTES)
    guard.monitor.check()
    central = window.centralWidget()
    assert central is not None
    assert not central.isVisible()  # nothing of the pages is painted or focusable
    assert guard.screen.isVisible()
    assert guard.screen.geometry() == window.rect()
    assert not window.sign_out_action.isEnabled()
    assert all(not a.isEnabled() for a in window.findChildren(QAction) if a.shortcut().toString())
    assert "Locked after 5 minute(s) without use." in guard.screen.who_label.text()
    screenshot(window, "lock_screen")
    # A wrong password keeps it locked, with the reason.
    qtbot.keyClicks(guard.screen.password_edit, "not the password at all")
    qtbot.keyClick(guard.screen.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: guard.screen.message_label.is_error, timeout=10_000)
    assert guard.is_locked
    # The same user is back where they left off.
    with qtbot.waitSignal(guard.unlocked, timeout=10_000):
        qtbot.keyClicks(guard.screen.password_edit, password)
        qtbot.keyClick(guard.screen.password_edit, Qt.Key.Key_Return)
    assert central.isVisible()
    assert field.text() == "smith 1980"
    assert window.sign_out_action.isEnabled()
    events = _audit(core)
    assert (AuditAction.LOCK, "success") in events
    # The lock itself is audited in the background, so only the unlock attempts keep an order.
    unlocks = [e for e in events if e[0] is AuditAction.UNLOCK]
    assert unlocks[-2:] == [(AuditAction.UNLOCK, "wrong_password"), (AuditAction.UNLOCK, "success")]


def test_another_user_switches_only_after_confirming(
    qtbot: QtBot,
    app_context: AppContext,
    user_named: Callable[[str], SignedInUser],
    fake_clock: FakeMonotonic,
    password: str,
) -> None:
    answers = [False, True]
    asked: list[str] = []

    def confirm(_parent: QWidget, text: str) -> bool:
        asked.append(text)
        return answers.pop(0)

    _, guard = _window(qtbot, app_context, user_named("maria"), fake_clock, confirm)
    guard.lock("Locked by hand.")

    def unlock_as_lena() -> None:
        guard.screen.username_edit.setText("lena")
        guard.screen.password_edit.setText(password)
        guard.screen.unlock_button.click()

    unlock_as_lena()
    qtbot.waitUntil(lambda: guard.screen.message_label.is_error, timeout=10_000)
    assert "Switch to Lena Brandt? Maria Alvarez's unsaved work" in asked[0]
    assert guard.screen.message_label.text() == "Still locked: nothing was switched."
    assert guard.is_locked
    with qtbot.waitSignal(guard.switched, timeout=10_000) as blocker:
        unlock_as_lena()
    assert blocker.args[0].username == "lena"


def test_controller_gives_the_new_user_a_fresh_window(
    qtbot: QtBot, core: Core, password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ui.session.session_guard.ask_to_switch", lambda _p, _t: True)
    controller = AppController(core.config)
    qtbot.addWidget(controller.sign_in)
    controller.start()
    with qtbot.waitSignal(controller.core_ready):
        controller.connect_database()
    form = controller.sign_in
    qtbot.keyClicks(form.username_edit, "maria")
    qtbot.keyClicks(form.password_edit, password)
    qtbot.keyClick(form.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: controller.main_window is not None, timeout=10_000)
    first = controller.main_window
    guard = controller.session_guard
    assert first is not None
    assert guard is not None
    guard._confirm = lambda _p, _t: True  # the dialog itself is tested above
    _typed_field(first)
    guard.lock("Locked by hand.")
    guard.screen.username_edit.setText("sam")
    guard.screen.password_edit.setText(password)
    guard.screen.unlock_button.click()
    qtbot.waitUntil(
        lambda: controller.main_window is not None and controller.main_window is not first,
        timeout=10_000,
    )
    second = controller.main_window
    assert second is not None
    qtbot.addWidget(second)
    assert second.user.username == "sam"
    assert not any(e.text() == "smith 1980" for e in second.findChildren(QLineEdit))
    qtbot.waitUntil(lambda: not shiboken6.isValid(first))
    events = _audit(core)
    assert (AuditAction.SIGN_OUT, "success") in events
    controller.shutdown()


def test_badge_and_pin_sign_in(
    qtbot: QtBot, core: Core, user_named: Callable[[str], SignedInUser]
) -> None:
    from labdesk.access.users import set_badge, set_pin
    from ui.app import authenticator_for, badge_authenticator_for
    from ui.session.sign_in import SignInWidget

    admin = user_named("alex")
    maria = user_named("maria")
    with core.uow() as uow:
        set_badge(uow, core.clock, admin, maria.id, "BADGE-7731")
        set_pin(uow, core.clock, admin, maria.id, "480613")
        uow.commit()
    form = SignInWidget("DRAW-2")
    qtbot.addWidget(form)
    form.set_ready(authenticator_for(core))
    form.set_badge_ready(badge_authenticator_for(core))
    form.show()
    qtbot.keyClicks(form.badge_box.badge_edit, "BADGE-7731")
    qtbot.keyClick(form.badge_box.badge_edit, Qt.Key.Key_Return)  # the scanner's Enter
    qtbot.keyClicks(form.badge_box.pin_edit, "111111")
    qtbot.keyClick(form.badge_box.pin_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: form.message_label.is_error, timeout=10_000)
    assert form.message_label.text().startswith("Wrong PIN.")
    with qtbot.waitSignal(form.signed_in, timeout=10_000) as blocker:
        qtbot.keyClicks(form.badge_box.badge_edit, "BADGE-7731")
        qtbot.keyClicks(form.badge_box.pin_edit, "480613")
        qtbot.keyClick(form.badge_box.pin_edit, Qt.Key.Key_Return)
    assert blocker.args[0].username == "maria"
    assert form.badge_box.pin_edit.text() == ""
