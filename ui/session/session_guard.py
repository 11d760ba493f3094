"""Locking a shared station: after inactivity or by hand, and unlocking or switching user.

While locked the window's central widget is hidden (nothing of it is painted or reachable by
keyboard), its actions are disabled and the :class:`~ui.session.lock_screen.LockScreen` covers the
window; the widgets themselves are untouched, so the same user finds their work as they
left it. Another user who unlocks is asked to confirm, then :attr:`SessionGuard.switched`
hands their session to the controller, which builds a fresh window at their start screen:
the previous user's half-done work is never shown to them. A break-glass session ends when
the station locks. Every lock, unlock and failed unlock is audited by the services.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMessageBox, QWidget

from labdesk.access.commands import LockSession, UnlockSession, UnlockSessionWithBadge
from labdesk.domain.permissions import Permission, allows
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import Command
from ui.context import AppContext
from ui.session.emergency_dialog import EmergencyAccessDialog
from ui.session.inactivity import InactivityMonitor, MonotonicClock
from ui.session.lock_screen import LockScreen
from ui.session.password_dialog import ChangePasswordDialog
from ui.tasks import CommandOp
from ui.widgets.errors import error_text
from ui.widgets.message_label import ERROR_COLOUR

LOCK_SHORTCUT = "Ctrl+Shift+L"

#: Asks "switch to this user?" (a message box; tests substitute an answer).
Confirm = Callable[[QWidget, str], bool]


def ask_to_switch(parent: QWidget, text: str) -> bool:
    """Ask before discarding the previous user's unsaved work."""
    answer = QMessageBox.question(
        parent,
        parent.tr("Switch user"),
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


class SessionGuard(QObject):
    """Locks ``window`` after ``context.config.auto_lock_minutes`` without input."""

    locked = Signal()
    unlocked = Signal()
    switched = Signal(object)  # SignedInUser of the new session

    def __init__(
        self,
        window: QMainWindow,
        context: AppContext,
        user: SignedInUser,
        *,
        clock: MonotonicClock = time.monotonic,
        confirm: Confirm = ask_to_switch,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.user = user
        self._context = context
        self._confirm = confirm
        self._disabled_actions: list[QAction] = []
        self.screen = LockScreen(window)
        self.screen.hide()
        self.monitor = InactivityMonitor(
            context.config.auto_lock_minutes * 60, clock=clock, parent=self
        )
        self.monitor.timed_out.connect(self._lock_for_inactivity)
        self.screen.password_entered.connect(self._unlock_with_password)
        self.screen.badge_entered.connect(self._unlock_with_badge)
        self.lock_action = QAction(window.tr("&Lock or switch user"), window)
        self.lock_action.setShortcut(QKeySequence(LOCK_SHORTCUT))
        self.lock_action.triggered.connect(lambda: self.lock(window.tr("Locked by hand.")))
        window.addAction(self.lock_action)
        self.password_action = QAction(window.tr("Change &password…"), window)
        self.password_action.triggered.connect(lambda: self.change_password(required=False))
        self.emergency_action = QAction(window.tr("&Emergency access…"), window)
        self.emergency_action.triggered.connect(self.request_emergency_access)
        self.emergency_action.setVisible(
            allows(user.role, Permission.EMERGENCY_ACCESS) and not user.emergency
        )
        self._add_to_session_menu([self.lock_action, self.password_action, self.emergency_action])
        if user.emergency:
            self._mark_emergency()
        self.monitor.start()
        if user.must_change_password:
            QTimer.singleShot(0, self, lambda: self.change_password(required=True))

    def _add_to_session_menu(self, actions: list[QAction]) -> None:
        menus = [a.menu() for a in self.window.menuBar().actions()]
        session = next((m for m in menus if isinstance(m, QMenu)), None)
        if session is None:
            return
        first = session.actions()[0] if session.actions() else None
        for action in actions:
            session.insertAction(first, action)  # type: ignore[arg-type]
        session.insertSeparator(first)  # type: ignore[arg-type]

    def _mark_emergency(self) -> None:
        self.window.setWindowTitle(
            self.window.windowTitle() + self.window.tr(" — EMERGENCY ACCESS")
        )
        banner = QLabel(self.window.tr("EMERGENCY ACCESS: everything you do is recorded"))
        palette = banner.palette()
        palette.setColor(banner.foregroundRole(), ERROR_COLOUR)
        banner.setPalette(palette)
        font = banner.font()
        font.setBold(True)
        banner.setFont(font)
        self.window.statusBar().insertPermanentWidget(0, banner)
        self.emergency_banner = banner

    def change_password(self, *, required: bool) -> None:
        """Let the user choose a password; when ``required``, cancelling signs them out."""
        dialog = ChangePasswordDialog(self._context, self.user, self.window, required=required)
        dialog.changed.connect(self._password_changed)
        if required:
            dialog.rejected.connect(self._sign_out_window)
        dialog.open()
        self.password_dialog = dialog

    def _password_changed(self, user: SignedInUser) -> None:
        self.user = user

    def _sign_out_window(self) -> None:
        signal = getattr(self.window, "sign_out_requested", None)
        if signal is not None:
            signal.emit()

    def request_emergency_access(self) -> None:
        """Ask for a reason and the password; a granted session gets a fresh window."""
        dialog = EmergencyAccessDialog(self._context, self.user, self.window)
        dialog.granted.connect(self._emergency_granted)
        dialog.open()
        self.emergency_dialog = dialog

    def _emergency_granted(self, user: SignedInUser) -> None:
        self.monitor.stop()
        self.switched.emit(user)

    @property
    def is_locked(self) -> bool:
        """True while the lock screen covers the window."""
        return self.screen.isVisible()

    def lock(self, reason: str) -> None:
        """Hide everything and show the lock screen (idempotent)."""
        if self.is_locked:
            return
        self.monitor.pause()
        central = self.window.centralWidget()
        if central is not None:
            central.hide()
        self._disabled_actions = [
            a
            for a in self.window.findChildren(QAction)
            if a.isEnabled() and a is not self.lock_action
        ]
        for action in self._disabled_actions:
            action.setEnabled(False)
        self.lock_action.setEnabled(False)
        self.window.menuBar().setEnabled(False)
        self.screen.show_for(self.user.display_name, self.user.username, reason)
        self._record_lock(reason)
        self.locked.emit()

    def _lock_for_inactivity(self) -> None:
        minutes = self._context.config.auto_lock_minutes
        self.lock(self.window.tr("Locked after %n minute(s) without use.", "", minutes))

    def _record_lock(self, reason: str) -> None:
        # Locking also ends a break-glass session (audited); unlocking opens a fresh window.
        CommandOp(self._context.bus, LockSession(reason=reason), self.user).run(
            lambda _ended: None, self._lock_not_recorded, owner=self
        )

    def _lock_not_recorded(self, error: Exception) -> None:
        self.screen.message_label.show_error(error_text(error))

    def _unlock_with_password(self, username: str, password: str) -> None:
        station = self._context.config.station_code
        self._check(UnlockSession(username=username, password=password, station=station))

    def _unlock_with_badge(self, badge: str, pin: str) -> None:
        station = self._context.config.station_code
        self._check(UnlockSessionWithBadge(badge_id=badge, pin=pin, station=station))

    def _check(self, command: Command[SignedInUser]) -> None:
        """Send the unlock without an actor: whoever is at the screen is not known yet."""
        self.screen.set_busy(True)
        CommandOp(self._context.bus, command, None).run(self._signed_in, self._refused, owner=self)

    def _refused(self, error: Exception) -> None:
        self.screen.show_error(error_text(error))

    def _signed_in(self, user: SignedInUser) -> None:
        if user.id == self.user.id and not self.user.emergency:
            self._unlock()
            return
        if user.id != self.user.id:
            question = self.window.tr(
                "Switch to {new}? {old}'s unsaved work on this station will be closed."
            ).format(new=user.display_name, old=self.user.display_name)
            if not self._confirm(self.window, question):
                self.screen.show_error(self.window.tr("Still locked: nothing was switched."))
                return
        # Another user, or the end of a break-glass session: a fresh window.
        self.monitor.stop()
        self.switched.emit(user)

    def _unlock(self) -> None:
        self.screen.hide()
        central = self.window.centralWidget()
        if central is not None:
            central.show()
        for action in self._disabled_actions:
            action.setEnabled(True)
        self._disabled_actions = []
        self.lock_action.setEnabled(True)
        self.window.menuBar().setEnabled(True)
        self.monitor.reset()
        self.unlocked.emit()

    def stop(self) -> None:
        """Stop watching input (the window is closing)."""
        self.monitor.stop()
