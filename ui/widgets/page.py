"""What every screen shares: the context, the signed-in user, and a header over its body."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.widgets.page_header import PageHeader


class Page(QWidget):
    """A screen of the main window, built from the composition root's context for one user.

    Subclasses build their widgets, then call :meth:`page_layout` with their title and a
    one-line explanation and add the rest of the page below the header.
    """

    def __init__(
        self, context: AppContext, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._user = user

    def page_layout(self, title: str, explanation: str) -> QVBoxLayout:
        """The page's vertical layout, holding the header; add the body below it."""
        layout = QVBoxLayout(self)
        layout.addWidget(PageHeader(title, explanation))
        return layout
