"""The permission matrix, read-only: what each role may do (changed in code, not here)."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QLabel, QTableView, QVBoxLayout, QWidget

from labdesk.domain.people import Role
from labdesk.domain.permissions import EMERGENCY_GRANTS, Permission, allows
from ui.navigation import role_label
from ui.widgets.table_model import Column, RowTableModel
from ui.widgets.table_view import sorting_table_view

_CONTEXT = "RolesTableModel"
YES = "✓"


def _role_column(role: Role) -> Column[Permission]:
    return Column[Permission](role.label, lambda p: YES if allows(role, p) else "")


class RolesTableModel(RowTableModel[Permission]):
    """One row per permission, one column per role."""

    translation_context = _CONTEXT
    columns = (
        Column[Permission](
            QT_TRANSLATE_NOOP(_CONTEXT, "Permission"), lambda p: p.value, stretch=True
        ),
        *(_role_column(role) for role in Role),
        Column[Permission](
            QT_TRANSLATE_NOOP(_CONTEXT, "Break-glass adds"),
            lambda p: YES if p in EMERGENCY_GRANTS else "",
        ),
    )


class RolesPanel(QWidget):
    """Shows the matrix the services enforce."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RolesTableModel(self)
        self.model.set_rows(list(Permission))
        self.table: QTableView = sorting_table_view(self.model, self)
        note = QLabel(
            self.tr(
                "Every service checks this matrix, whatever the screens show. Roles: {roles}. "
                "Break-glass access (with a reason, always audited) adds the last column's "
                "permissions to roles that may use it."
            ).format(roles=", ".join(role_label(r) for r in Role))
        )
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
