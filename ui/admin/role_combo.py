"""A combo box of the roles, shared by the Users tab and the Add user dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from labdesk.domain.people import Role
from ui.navigation import role_label


class RoleComboBox(QComboBox):
    """Every role by its translated name; :meth:`role` gives back a ``Role``.

    Each item holds the role's *value* string, not the enum: Qt stores a ``StrEnum`` as a
    plain ``str`` and ``currentData()`` hands back ``"courier"``, not ``Role.COURIER``
    (issue 11, item 6: Add… and Set role crashed on that). :meth:`role` converts back.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for role in Role:
            self.addItem(role_label(role), role.value)

    def role(self) -> Role:
        """The chosen role."""
        return Role(self.currentData())

    def set_role(self, role: Role) -> None:
        """Show ``role`` as the chosen one."""
        self.setCurrentIndex(self.findData(role.value))
