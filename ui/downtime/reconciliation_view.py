"""The station's own view of the downtime reconciliation worklist (issue 12 item 5).

Reached from the offline banner's button and the main window's Go menu (Ctrl+Shift+R), so
the person who did the offline work sees what the server refused without going to Admin.
It is the Admin worklist (:class:`~ui.admin.reconciliation_panel.ReconciliationPanel`)
narrowed to this station; resolving is the same audited command.

It is shown inside the main window (not a window of its own) so the session lock hides it
with the pages. The worklist lives on the server: while the station works offline, or is
still sending its offline work (the bus then still goes to the station file), the view
says so plainly instead of reading the replica, and loads afresh once the station is
online again.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from labdesk.downtime.mode import Connectivity, StationMode
from labdesk.kernel.dto import SignedInUser
from ui.admin.reconciliation_panel import ReconciliationPanel
from ui.context import AppContext
from ui.downtime.offline_page import OfflineGate
from ui.widgets.page import Page

NEEDS_SERVER = QT_TRANSLATE_NOOP(
    "StationReconciliationView",
    "The reconciliation worklist needs the server; it opens again when the station is back "
    "online. Collection, labels, pickup scans and lab receipt keep working meanwhile.",
)


class StationReconciliationView(Page):
    """This station's open conflicts, both sides, and the resolve action."""

    back_requested = Signal()
    """Back (Esc): return to the page the view was opened from."""

    def __init__(
        self,
        context: AppContext,
        user: SignedInUser,
        mode: StationMode,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(context, user, parent)
        self._mode = mode
        station = context.config.station_code
        # Built without loading: the station may be offline now; show_fresh() loads.
        self.panel = ReconciliationPanel(context, user, self, station=station, load=False)
        self.gate = OfflineGate(self.panel, "", mode, self, notice=self.tr(str(NEEDS_SERVER)))
        self.gate.came_online.connect(self.panel.reload)
        self.back_button = QPushButton(self.tr("&Back (Esc)"), self)
        self.back_button.clicked.connect(self.back_requested)
        back = QShortcut(QKeySequence("Esc"), self, self.back_requested.emit)
        back.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)  # not on other pages
        layout = self.page_layout(
            self.tr("Downtime reconciliation — station {station}").format(station=station),
            self.tr(
                "What this station did offline that the server refused or asks to check: "
                "what each side did, and the choices for each."
            ),
        )
        layout.addWidget(self.gate, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.back_button)
        layout.addLayout(row)

    @property
    def offline(self) -> bool:
        """Whether the view shows the "needs the server" notice instead of the list."""
        return self.gate.offline

    def show_fresh(self) -> None:
        """Fetch the list again when online (what was loaded before may be stale)."""
        if self._mode.status().connectivity is Connectivity.ONLINE:
            self.panel.reload()
        self.panel.table.setFocus()
