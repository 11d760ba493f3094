"""Main window: navigation on the left, the role's pages on the right, status below."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.downtime.banner import ModeWatcher, OfflineBanner
from ui.downtime.reconciliation_view import StationReconciliationView
from ui.navigation import PageId, page_title, pages_for
from ui.printing.printer_monitor import watch_label_printer
from ui.scan_wiring import install_scanner
from ui.screens import build_page
from ui.status_bar import StatusBar

NAVIGATION_WIDTH = 170


class MainWindow(QMainWindow):
    """Assembles the pages ``user``'s role may see; holds no workflow logic."""

    sign_out_requested = Signal()

    def __init__(
        self, context: AppContext, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        self.user = user
        self.page_ids = pages_for(user.role, emergency=user.emergency)
        title = self.tr("LabDesk — {name} at {station}").format(
            name=user.display_name, station=context.config.station_code
        )
        if context.config.demo:
            title += self.tr(" — DEMO DATA")
        self.setWindowTitle(title)

        self.navigation = QListWidget(self)
        self.navigation.setFixedWidth(NAVIGATION_WIDTH)
        self.navigation.setAccessibleName(self.tr("Pages"))
        self.pages = QStackedWidget(self)
        row_height = self.navigation.fontMetrics().height() + 16
        for number, page_id in enumerate(self.page_ids, start=1):
            item = QListWidgetItem(page_title(page_id))
            item.setSizeHint(QSize(0, row_height))
            item.setToolTip(f"Ctrl+{number}")
            self.navigation.addItem(item)
            self.pages.addWidget(build_page(page_id, context, user, self.pages))
        self.navigation.currentRowChanged.connect(self.pages.setCurrentIndex)

        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        self.offline_banner = OfflineBanner(context.config.clinic_timezone, central)
        outer.addWidget(self.offline_banner)
        layout = QHBoxLayout()
        layout.addWidget(self.navigation)
        layout.addWidget(self.pages, 1)
        outer.addLayout(layout, 1)
        self.setCentralWidget(central)
        self.status_bar = StatusBar(
            user,
            context.config.station_code,
            context.database_description,
            context.config.label_printer_uri,
            self,
            now=context.clock.now,
        )
        self.setStatusBar(self.status_bar)
        self.printer_monitor = watch_label_printer(context, self.status_bar)
        self.mode_watcher: ModeWatcher | None = None
        self.reconciliation: StationReconciliationView | None = None
        """This station's reconciliation worklist, built when first opened (a page of
        ``pages`` outside the navigation, so the session lock hides it with the others)."""
        self._opened_from: PageId | None = None
        self.reconciliation_action: QAction | None = None
        """Go > Downtime reconciliation (Ctrl+Shift+R); None without downtime mode."""
        if context.mode is not None:  # a PostgreSQL station: show downtime mode
            self.offline_banner.reconcile_available = True
            self.offline_banner.reconcile_requested.connect(self.open_reconciliation)
            self.mode_watcher = ModeWatcher(context.mode, self)
            self.mode_watcher.changed.connect(self.offline_banner.set_status)
            self.mode_watcher.changed.connect(self.status_bar.set_station_status)
            self.offline_banner.set_status(context.mode.status())
            self.status_bar.set_station_status(context.mode.status())
        self._build_menus()
        self.scan_router = install_scanner(
            self, context.config, {p: self.page(p) for p in self.page_ids}, self.show_page
        )
        self.show_page(self.page_ids[0])

    def _build_menus(self) -> None:
        session = self.menuBar().addMenu(self.tr("&Session"))
        self.sign_out_action = QAction(self.tr("Sign &out"), self)
        self.sign_out_action.setShortcut(QKeySequence("Ctrl+L"))
        self.sign_out_action.triggered.connect(self.sign_out_requested)
        session.addAction(self.sign_out_action)
        quit_action = QAction(self.tr("&Quit"), self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        session.addAction(quit_action)
        go = self.menuBar().addMenu(self.tr("&Go"))
        for number, page_id in enumerate(self.page_ids, start=1):
            action = QAction(page_title(page_id), self)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _=False, p=page_id: self.show_page(p))
            go.addAction(action)
        if self._context.mode is not None:  # only a downtime-proof station has conflicts
            go.addSeparator()
            action = QAction(self.tr("Downtime &reconciliation…"), self)
            action.setShortcut(QKeySequence("Ctrl+Shift+R"))
            action.triggered.connect(self.open_reconciliation)
            go.addAction(action)
            self.reconciliation_action = action

    def open_reconciliation(self) -> None:
        """Show this station's reconciliation worklist (banner button, Ctrl+Shift+R)."""
        mode = self._context.mode
        if mode is None:  # pragma: no cover - the action and the button need a mode
            return
        view = self.reconciliation
        if view is None:
            view = self.reconciliation = StationReconciliationView(
                self._context, self.user, mode, self.pages
            )
            self.pages.addWidget(view)  # after the role's pages: their indexes stay
            view.back_requested.connect(self._close_reconciliation)
        row = self.navigation.currentRow()
        if self.pages.currentWidget() is not view and row >= 0:
            self._opened_from = self.page_ids[row]
        self.navigation.blockSignals(True)  # no page is selected while the view shows
        self.navigation.setCurrentRow(-1)
        self.navigation.blockSignals(False)
        self.pages.setCurrentWidget(view)
        view.show_fresh()

    def _close_reconciliation(self) -> None:
        self.show_page(self._opened_from or self.page_ids[0])

    def show_page(self, page: PageId) -> None:
        """Select ``page`` in the navigation and show it."""
        self.navigation.setCurrentRow(self.page_ids.index(page))
        self.page(page).setFocus()

    def page(self, page: PageId) -> QWidget:
        """The widget of ``page`` (it must be one of this role's pages)."""
        widget = self.pages.widget(self.page_ids.index(page))
        assert widget is not None, f"no widget for {page}"
        return widget
