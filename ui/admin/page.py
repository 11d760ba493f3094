"""Admin page: tabs for the test catalog, users, roles, stations and the audit log."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTableView, QTabWidget, QVBoxLayout, QWidget

from labdesk.catalog.compendium import list_catalog
from labdesk.kernel.dto import CatalogRow, SignedInUser
from ui.admin import add_access_tabs
from ui.admin.catalog_table_model import CatalogTableModel
from ui.admin.integrity_panel import IntegrityPanel
from ui.admin.reconciliation_panel import ReconciliationPanel
from ui.admin.station_contacts_panel import StationContactsPanel
from ui.context import AppContext
from ui.printing.printers_panel import PrintersPanel
from ui.tasks import QueryOp
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel
from ui.widgets.page import Page
from ui.widgets.table_view import sorting_table_view


class AdminPage(Page):
    """Shows the catalog, loaded off the UI thread when the page is built."""

    catalog_loaded = Signal(int)

    def __init__(
        self, context: AppContext, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, user, parent)
        self.model = CatalogTableModel(self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.status_label = MessageLabel(self)
        self.status_label.show_info(self.tr("Loading the test catalog…"))
        layout = self.page_layout(
            self.tr("Admin"),
            self.tr(
                "The test catalog, who may sign in and what each role may do, the "
                "workstations, and the audit log."
            ),
        )
        catalog = QWidget(self)
        catalog_layout = QVBoxLayout(catalog)
        catalog_layout.addWidget(self.status_label)
        catalog_layout.addWidget(self.table, 1)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(catalog, self.tr("Catalog"))
        self.access = add_access_tabs(self.tabs, context, user)
        self.printers = PrintersPanel(context, user, self.tabs)
        self.tabs.addTab(self.printers, self.tr("Printers"))
        self.integrity = IntegrityPanel(context, user, self.tabs)
        self.tabs.addTab(self.integrity, self.tr("Integrity"))
        self.reconciliation = ReconciliationPanel(context, user, self.tabs)
        self.tabs.addTab(self.reconciliation, self.tr("Downtime reconciliation"))
        self.station_contacts = StationContactsPanel(context, user, self.tabs)
        self.tabs.addTab(self.station_contacts, self.tr("Station contacts"))
        layout.addWidget(self.tabs, 1)
        self.reload()

    def reload(self) -> None:
        """Fetch the catalog again in the background."""
        QueryOp(self._context.bus, list_catalog).run(self._show, self._failed, owner=self)

    def _show(self, rows: list[CatalogRow]) -> None:
        self.model.set_rows(rows)
        self.status_label.show_info(self.tr("Tests in the catalog: %n", "", len(rows)))
        self.catalog_loaded.emit(len(rows))

    def _failed(self, error: Exception) -> None:
        self.status_label.show_error(error_text(error))
