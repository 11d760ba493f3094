"""Sign-in window: user name and password, checked off the UI thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from labdesk.kernel.dto import SignedInUser
from ui.scanner import NO_SCAN
from ui.session.badge_sign_in import BadgeSignInBox
from ui.tasks import run_in_background
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel

#: Checks credentials (blocking; runs on a pool thread) and raises AuthenticationError.
Authenticator = Callable[[str, str], SignedInUser]


class SignInWidget(QWidget):
    """Top-level sign-in window.

    It appears before the database is ready: ``set_connecting()`` first, then
    ``set_ready(authenticator)`` or ``set_connection_failed(error)``.
    """

    signed_in = Signal(object)  # SignedInUser
    retry_requested = Signal()

    def __init__(self, station_code: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._authenticate: Authenticator | None = None
        self._badge_authenticate: Authenticator | None = None
        self.badge_box = BadgeSignInBox(self)
        self.badge_box.entered.connect(self._submit_badge)
        self._busy = False
        self.setWindowTitle(self.tr("LabDesk — Sign in"))
        self.username_edit = QLineEdit(self)
        self.username_edit.setAccessibleName(self.tr("User name"))
        self.password_edit = QLineEdit(self)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName(self.tr("Password"))
        # Never a scan, even shown in clear ("Show password"): issue 11 item 8.
        self.password_edit.setProperty(NO_SCAN, True)
        self.show_password_check = QCheckBox(self.tr("Show password"), self)
        self.message_label = MessageLabel(self)
        # Room for a message and its hint: a top-level window does not grow for wrapped text.
        self.message_label.setMinimumHeight(3 * self.message_label.fontMetrics().lineSpacing())
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.sign_in_button = QPushButton(self.tr("Sign in"), self)
        self.sign_in_button.setDefault(True)
        self.retry_button = QPushButton(self.tr("Retry"), self)
        self.retry_button.hide()
        self._build_layout(station_code)
        self.username_edit.returnPressed.connect(self._username_entered)
        self.password_edit.returnPressed.connect(self.submit)
        self.sign_in_button.clicked.connect(self.submit)
        self.retry_button.clicked.connect(self.retry_requested)
        self.show_password_check.toggled.connect(self._show_password)
        self.username_edit.setFocus()

    def _build_layout(self, station_code: str) -> None:
        title = QLabel(self.tr("LabDesk"), self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        subtitle = QLabel(self.tr("Sign in at station {code}").format(code=station_code))
        form = QFormLayout()
        form.addRow(self.tr("&User name"), self.username_edit)
        form.addRow(self.tr("&Password"), self.password_edit)
        form.addRow("", self.show_password_check)
        form.addRow(self.badge_box)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.sign_in_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addSpacing(12)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        self.demo_label = QLabel(self)
        self.demo_label.setWordWrap(True)
        self.demo_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.demo_label.hide()
        layout.addWidget(self.demo_label)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.setMinimumWidth(460)

    def set_connecting(self) -> None:
        """The database is not ready yet: typing is allowed, signing in is not."""
        self._authenticate = None
        self.retry_button.hide()
        self.message_label.show_info(self.tr("Connecting to database…"))
        self._update_enabled()

    def set_ready(self, authenticate: Authenticator) -> None:
        """The database is ready: accept sign-ins checked by ``authenticate``."""
        self._authenticate = authenticate
        self.retry_button.hide()
        self.message_label.show_info("")
        self._update_enabled()

    def set_badge_ready(self, authenticate: Authenticator) -> None:
        """Accept badge + PIN sign-ins checked by ``authenticate(badge, pin)``."""
        self._badge_authenticate = authenticate

    def _submit_badge(self, badge: str, pin: str) -> None:
        authenticate = self._badge_authenticate
        if authenticate is None or self._authenticate is None or self._busy:
            return
        self._set_busy(True)
        self.message_label.show_info(self.tr("Signing in…"))
        self.badge_box.clear()
        run_in_background(
            lambda: authenticate(badge, pin), self._succeeded, self._failed, owner=self
        )

    def show_demo_accounts(self, usernames: Sequence[str], password: str) -> None:
        """List the demo accounts under the form (demo mode only)."""
        self.demo_label.setText(
            self.tr("Demo users: {users}, all with the password {password}").format(
                users=", ".join(usernames), password=password
            )
        )
        self.demo_label.show()

    def set_connection_failed(self, error: Exception) -> None:
        """Show why the database cannot be used, and offer to retry."""
        self._authenticate = None
        self.message_label.show_error(error_text(error))
        self.retry_button.show()
        self._update_enabled()

    def reset(self, message: str = "") -> None:
        """Clear the fields for the next user (after sign-out)."""
        self.username_edit.clear()
        self.password_edit.clear()
        self.show_password_check.setChecked(False)
        self.message_label.show_info(message)
        self.username_edit.setFocus()

    def submit(self) -> None:
        """Check the typed credentials in the background."""
        if self._authenticate is None or self._busy:
            return
        username = self.username_edit.text().strip()
        password = self.password_edit.text()
        if not username:
            self.message_label.show_error(self.tr("Enter your user name."))
            self.username_edit.setFocus()
            return
        if not password:
            self.message_label.show_error(self.tr("Enter your password."))
            self.password_edit.setFocus()
            return
        authenticate = self._authenticate
        self._set_busy(True)
        self.message_label.show_info(self.tr("Signing in…"))
        run_in_background(
            lambda: authenticate(username, password),
            self._succeeded,
            self._failed,
            owner=self,
        )

    def _succeeded(self, user: SignedInUser) -> None:
        self._set_busy(False)
        self.password_edit.clear()
        self.message_label.show_info("")
        self.signed_in.emit(user)

    def _failed(self, error: Exception) -> None:
        self._set_busy(False)
        self.message_label.show_error(error_text(error))
        self.password_edit.clear()
        self.password_edit.setFocus()

    def _username_entered(self) -> None:
        if self.password_edit.text():
            self.submit()
        else:
            self.password_edit.setFocus()

    def _show_password(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.password_edit.setEchoMode(mode)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_enabled()

    def _update_enabled(self) -> None:
        self.username_edit.setEnabled(not self._busy)
        self.password_edit.setEnabled(not self._busy)
        self.sign_in_button.setEnabled(self._authenticate is not None and not self._busy)
