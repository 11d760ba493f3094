"""What every screen shares: the context, the signed-in user, and a header over its body.

A page also says when live updates are interrupted: the "Reconnecting…" strip under the
header shows while the app's change feed is reconnecting (what the page shows may be out
of date meanwhile) and hides when it is live again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from labdesk.kernel.changes import FeedState, Topic
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.widgets.page_header import PageHeader

if TYPE_CHECKING:
    from ui.live import LiveView

#: (text colour, background) of the reconnecting strip: a warning, not an error.
RECONNECTING_STYLE = ("#8a5200", "#fff1d6")


class ReconnectingStrip(QLabel):
    """A warning line: the connection to the server is being re-established."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setText(self.tr("Reconnecting to the server… what you see may be out of date."))
        self.setWordWrap(True)
        colour, background = RECONNECTING_STYLE
        self.setStyleSheet(
            f"background-color: {background}; color: {colour}; border-radius: 4px; "
            "padding: 6px; font-weight: bold;"
        )
        self.setAccessibleName(self.tr("Connection status"))
        self.hide()


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
        self.reconnecting_strip = ReconnectingStrip(self)
        live = context.live
        if live is not None:
            live.state_changed.connect(self.show_feed_state)
            self.show_feed_state(live.state)

    def page_layout(self, title: str, explanation: str) -> QVBoxLayout:
        """The page's vertical layout, holding the header; add the body below it."""
        layout = QVBoxLayout(self)
        layout.addWidget(PageHeader(title, explanation))
        layout.addWidget(self.reconnecting_strip)
        return layout

    def show_feed_state(self, state: FeedState) -> None:
        """Show the reconnecting strip while the feed reconnects; hide it otherwise."""
        self.reconnecting_strip.setVisible(state is FeedState.RECONNECTING)

    @property
    def reconnecting(self) -> bool:
        """Whether the page says it is reconnecting."""
        return not self.reconnecting_strip.isHidden()

    def watch_changes(
        self,
        topics: Iterable[Topic],
        reload: Callable[[], Any],
        *,
        widget: QWidget | None = None,
        finished: SignalInstance | None = None,
        failed: SignalInstance | None = None,
    ) -> LiveView | None:
        """Reload (``reload``) when ``topics`` change and ``widget`` (the page) is shown.

        Returns:
            The subscription, or None when the app has no change feed (the page polls).
        """
        live = self._context.live
        if live is None:
            return None
        return live.watch(widget or self, topics, reload, finished=finished, failed=failed)
