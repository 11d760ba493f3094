"""The lock screen: an opaque panel over the whole main window while the station is locked.

It hides everything under it (the guard also hides the window's central widget, so no
patient data is painted or reachable by keyboard), and offers two ways back: the user name
and password, or a badge scan and PIN. Any user may unlock; the guard decides whether that
is the same session or a switch of user.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.widgets.message_label import MessageLabel


class LockScreen(QFrame):
    """Covers its parent window; emits what the person typed to unlock."""

    password_entered = Signal(str, str)  # user name, password
    badge_entered = Signal(str, str)  # badge, PIN

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self.setAutoFillBackground(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.title_label = QLabel(self.tr("Station locked"))
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        self.title_label.setFont(font)
        self.who_label = QLabel()
        self.who_label.setWordWrap(True)
        self.username_edit = QLineEdit()
        self.username_edit.setAccessibleName(self.tr("User name"))
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName(self.tr("Password"))
        self.unlock_button = QPushButton(self.tr("Unlock"))
        self.badge_edit = QLineEdit()
        self.badge_edit.setAccessibleName(self.tr("Badge"))
        self.badge_edit.setPlaceholderText(self.tr("Scan your badge"))
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setAccessibleName(self.tr("PIN"))
        self.message_label = MessageLabel()
        self._build()
        self.username_edit.returnPressed.connect(self.password_edit.setFocus)
        self.password_edit.returnPressed.connect(self._submit_password)
        self.unlock_button.clicked.connect(self._submit_password)
        self.badge_edit.returnPressed.connect(self.pin_edit.setFocus)
        self.pin_edit.returnPressed.connect(self._submit_badge)
        parent.installEventFilter(self)

    def _build(self) -> None:
        form = QFormLayout()
        form.addRow(self.tr("&User name"), self.username_edit)
        form.addRow(self.tr("&Password"), self.password_edit)
        form.addRow("", self.unlock_button)
        form.addRow(QLabel(self.tr("or scan your badge and type your PIN:")))
        form.addRow(self.tr("&Badge"), self.badge_edit)
        form.addRow(self.tr("P&IN"), self.pin_edit)
        panel = QWidget()
        panel.setMinimumWidth(420)
        panel.setMaximumWidth(520)
        inner = QVBoxLayout(panel)
        inner.addWidget(self.title_label)
        inner.addWidget(self.who_label)
        inner.addSpacing(12)
        inner.addLayout(form)
        inner.addWidget(self.message_label)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(panel)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

    def show_for(self, display_name: str, username: str, reason: str) -> None:
        """Cover the window, naming whose work is kept underneath."""
        self.who_label.setText(
            self.tr(
                "{reason} Patient data is hidden. {name}'s work is kept: sign in as "
                "{name} to continue, or as another user to switch (their own start screen)."
            ).format(reason=reason, name=display_name)
        )
        self.username_edit.setText(username)
        self.password_edit.clear()
        self.badge_edit.clear()
        self.pin_edit.clear()
        self.message_label.show_info("")
        self.set_busy(False)
        self._cover()
        self.show()
        self.raise_()
        self.password_edit.setFocus()

    def set_busy(self, busy: bool) -> None:
        """Disable input while a check runs in the background."""
        for widget in (self.username_edit, self.password_edit, self.badge_edit, self.pin_edit):
            widget.setEnabled(not busy)
        self.unlock_button.setEnabled(not busy)

    def show_error(self, text: str) -> None:
        """Say why the unlock failed; clear the secrets."""
        self.set_busy(False)
        self.message_label.show_error(text)
        self.password_edit.clear()
        self.pin_edit.clear()
        (self.pin_edit if self.badge_edit.text() else self.password_edit).setFocus()

    def _submit_password(self) -> None:
        if self.username_edit.text().strip() and self.password_edit.text():
            self.password_entered.emit(self.username_edit.text().strip(), self.password_edit.text())

    def _submit_badge(self) -> None:
        if self.badge_edit.text().strip() and self.pin_edit.text():
            self.badge_entered.emit(self.badge_edit.text().strip(), self.pin_edit.text())

    def _cover(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Follow the window's size."""
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self._cover()
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Keys typed on the lock screen never reach the pages underneath."""
        event.accept()
