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
        if context.mode is not None:  # a PostgreSQL station: show downtime mode
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

    def show_page(self, page: PageId) -> None:
        """Select ``page`` in the navigation and show it."""
        self.navigation.setCurrentRow(self.page_ids.index(page))
        self.page(page).setFocus()

    def page(self, page: PageId) -> QWidget:
        """The widget of ``page`` (it must be one of this role's pages)."""
        widget = self.pages.widget(self.page_ids.index(page))
        assert widget is not None, f"no widget for {page}"
        return widget
