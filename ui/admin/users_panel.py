"""Users tab: list accounts; add, change role, disable, remove, reset password, badge, PIN, unlock.

Every action sends a command (``labdesk.access.commands``) in the background and reloads the
list; its service in ``labdesk.access.users`` checks the permission, refuses losing the last
administrator and audits the change. The action methods take their values as arguments; the
buttons only collect them in dialogs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.access import users as admin
from labdesk.access.commands import (
    AddUser,
    RemoveUser,
    ResetPassword,
    SetBadge,
    SetPin,
    SetRole,
    SetUserActive,
    UnlockUser,
)
from labdesk.domain.people import Role
from labdesk.domain.timefmt import format_local
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import Command
from ui.admin.role_combo import RoleComboBox
from ui.admin.user_dialog import NewUserDialog
from ui.context import AppContext
from ui.navigation import role_label
from ui.tasks import CommandOp, QueryOp
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel
from ui.widgets.table_model import Column, RowTableModel
from ui.widgets.table_view import sorting_table_view

_CONTEXT = "UsersTableModel"


def _state(row: admin.UserRow) -> str:
    if row.removed:
        return "removed"
    if not row.active:
        return "disabled"
    return "locked" if row.locked else "active"


class UsersTableModel(RowTableModel[admin.UserRow]):
    """One row per account; times in the clinic's zone (the columns are per instance)."""

    translation_context = _CONTEXT

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timezone = timezone
        self.columns = self._declare()  # type: ignore[misc]  # per instance: the zone

    def when(self, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """``value`` in the clinic's zone, or a dash for never."""
        return format_local(value, self.timezone, fmt) if value is not None else "—"

    def _declare(self) -> tuple[Column[admin.UserRow], ...]:
        c = Column[admin.UserRow]
        return (
            c(QT_TRANSLATE_NOOP(_CONTEXT, "User name"), lambda r: r.username),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Name"), lambda r: r.display_name, stretch=True),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Role"), lambda r: role_label(r.role)),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "State"), _state),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "Badge"), lambda r: "yes" if r.has_badge else ""),
            c(QT_TRANSLATE_NOOP(_CONTEXT, "PIN"), lambda r: "yes" if r.has_pin else ""),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Expires"),
                lambda r: self.when(r.expires_at, "%Y-%m-%d"),
            ),
            c(
                QT_TRANSLATE_NOOP(_CONTEXT, "Last sign-in"),
                lambda r: self.when(r.last_sign_in_at),
                sort_key=lambda r: r.last_sign_in_at.timestamp() if r.last_sign_in_at else 0,
            ),
        )


class UsersPanel(QWidget):
    """Manages accounts through the user administration commands."""

    loaded = Signal(int)
    changed = Signal()
    failed = Signal(str)

    def __init__(self, context: AppContext, user: SignedInUser, parent: QWidget | None = None):
        super().__init__(parent)
        self._context = context
        self._user = user
        self.model = UsersTableModel(context.config.clinic_timezone, self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.message_label = MessageLabel(self)
        self.role_combo = RoleComboBox()
        self.table.selectionModel().selectionChanged.connect(self._show_selected_role)
        buttons: list[tuple[str, Callable[[], None]]] = [
            (self.tr("&Add…"), self._add_clicked),
            (self.tr("Set &role"), lambda: self.set_role(self.role_combo.role())),
            (self.tr("&Disable"), lambda: self.set_active(False)),
            (self.tr("&Enable"), lambda: self.set_active(True)),
            (self.tr("&Unlock"), self.unlock),
            (self.tr("Reset &password…"), self._reset_clicked),
            (self.tr("&Badge…"), self._badge_clicked),
            (self.tr("P&IN…"), self._pin_clicked),
            (self.tr("Re&move…"), self._remove_clicked),
        ]
        bar = QHBoxLayout()
        bar.addWidget(self.role_combo)
        self.buttons: dict[str, QPushButton] = {}
        for text, slot in buttons:
            button = QPushButton(text)
            button.clicked.connect(slot)
            bar.addWidget(button)
            self.buttons[text.replace("&", "").rstrip("…")] = button
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.message_label)
        layout.addWidget(self.table, 1)
        self.reload()

    # ------------------------------------------------------------ data

    def reload(self) -> None:
        """Fetch the list again in the background."""
        QueryOp(self._context.bus, admin.list_users, self._context.clock, self._user).run(
            self._show, self._failed, owner=self
        )

    def _show(self, rows: list[admin.UserRow]) -> None:
        self.model.set_rows(rows)
        self.loaded.emit(len(rows))

    def _failed(self, error: Exception) -> None:
        text = error_text(error)
        self.message_label.show_error(text)
        self.failed.emit(text)

    def select_user(self, username: str) -> None:
        """Select ``username``'s row (keyboard users and tests)."""
        proxy = self.table.model()
        for row in range(proxy.rowCount()):
            source = proxy.mapToSource(proxy.index(row, 0))  # type: ignore[attr-defined]
            if self.model.row_at(source.row()).username == username:
                self.table.selectRow(row)
                return

    def selected(self) -> admin.UserRow | None:
        """The selected account, if any."""
        indexes = self.table.selectionModel().selectedRows()
        if not indexes:
            return None
        source = self.table.model().mapToSource(indexes[0])  # type: ignore[attr-defined]
        return self.model.row_at(source.row())

    def _show_selected_role(self) -> None:
        """The role combo follows the selected user, so Set role starts from their role."""
        row = self.selected()
        if row is not None:
            self.role_combo.set_role(row.role)

    # ------------------------------------------------------------ actions

    def _run(self, done_text: str, command: Command[admin.UserRow]) -> None:
        """Send ``command`` in the background, then say ``done_text`` and reload."""

        def done(_: admin.UserRow) -> None:
            self.message_label.show_info(done_text)
            self.changed.emit()
            self.reload()

        CommandOp(self._context.bus, command, self._user).run(done, self._failed, owner=self)

    def _target(self) -> admin.UserRow | None:
        row = self.selected()
        if row is None:
            self.message_label.show_error(self.tr("Select a user first."))
        return row

    def add_user(self, new: admin.NewUser) -> None:
        """Create ``new`` (they choose their own password at the first sign-in)."""
        self._run(self.tr("Created {name}.").format(name=new.username), AddUser(new=new))

    def set_role(self, role: Role) -> None:
        """Give the selected user ``role``."""
        row = self._target()
        if row is not None:
            self._run(
                self.tr("{name} is now {role}.").format(name=row.username, role=role_label(role)),
                SetRole(user=row.id, role=role),
            )

    def set_active(self, active: bool) -> None:
        """Enable or disable the selected user."""
        row = self._target()
        if row is not None:
            text = self.tr("{name} enabled.") if active else self.tr("{name} disabled.")
            self._run(text.format(name=row.username), SetUserActive(user=row.id, active=active))

    def unlock(self) -> None:
        """Lift a lock after failed sign-ins."""
        row = self._target()
        if row is not None:
            self._run(
                self.tr("{name} can sign in again.").format(name=row.username),
                UnlockUser(user=row.id),
            )

    def remove(self) -> None:
        """Remove the selected user for good."""
        row = self._target()
        if row is not None:
            self._run(self.tr("{name} removed.").format(name=row.username), RemoveUser(user=row.id))

    def reset_password(self, password: str) -> None:
        """Set a temporary password the selected user must change."""
        row = self._target()
        if row is not None:
            self._run(
                self.tr("Password of {name} reset; they choose a new one at sign-in.").format(
                    name=row.username
                ),
                ResetPassword(user=row.id, password=password),
            )

    def set_badge(self, badge: str) -> None:
        """Register (or with "" take away) the selected user's badge."""
        row = self._target()
        if row is not None:
            self._run(
                self.tr("Badge of {name} updated.").format(name=row.username),
                SetBadge(user=row.id, badge_id=badge),
            )

    def set_pin(self, pin: str) -> None:
        """Set (or with "" clear) the selected user's PIN."""
        row = self._target()
        if row is not None:
            self._run(
                self.tr("PIN of {name} updated.").format(name=row.username),
                SetPin(user=row.id, pin=pin),
            )

    # ------------------------------------------------------------ dialogs

    def _add_clicked(self) -> None:
        dialog = NewUserDialog(self)
        if dialog.exec():
            self.add_user(dialog.new_user())

    def _ask(self, title: str, label: str, *, secret: bool) -> str | None:
        mode = QLineEdit.EchoMode.Password if secret else QLineEdit.EchoMode.Normal
        text, ok = QInputDialog.getText(self, title, label, mode)
        return text if ok else None

    def _reset_clicked(self) -> None:
        if self._target() is None:
            return
        password = self._ask(
            self.tr("Reset password"),
            self.tr("Temporary password (at least 15 characters):"),
            secret=True,
        )
        if password is not None:
            self.reset_password(password)

    def _badge_clicked(self) -> None:
        if self._target() is None:
            return
        badge = self._ask(
            self.tr("Badge"), self.tr("Scan the badge (empty: take it away):"), secret=False
        )
        if badge is not None:
            self.set_badge(badge)

    def _pin_clicked(self) -> None:
        if self._target() is None:
            return
        pin = self._ask(
            self.tr("PIN"), self.tr("New PIN, 6 to 12 digits (empty: clear):"), secret=True
        )
        if pin is not None:
            self.set_pin(pin)

    def _remove_clicked(self) -> None:
        row = self._target()
        if row is None:
            return
        answer = QMessageBox.question(
            self,
            self.tr("Remove user"),
            self.tr(
                "Remove {name} for good? The account cannot sign in again; its badge and PIN "
                "are freed. Its history stays in the audit log."
            ).format(name=row.username),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.remove()
