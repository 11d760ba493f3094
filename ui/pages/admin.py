"""Admin page: the test catalog (user and station management come with their own issue)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTableView, QVBoxLayout, QWidget

from labdesk.services.catalog import list_catalog
from labdesk.services.dto import CatalogRow
from ui.context import AppContext
from ui.errors import error_text
from ui.message_label import MessageLabel
from ui.pages.catalog_table_model import CatalogTableModel
from ui.pages.integrity_panel import IntegrityPanel
from ui.pages.page_header import PageHeader
from ui.table_view import sorting_table_view
from ui.tasks import run_in_background


class AdminPage(QWidget):
    """Shows the catalog, loaded off the UI thread when the page is built."""

    catalog_loaded = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.model = CatalogTableModel(self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.status_label = MessageLabel(self)
        self.status_label.show_info(self.tr("Loading the test catalog…"))
        layout = QVBoxLayout(self)
        layout.addWidget(
            PageHeader(
                self.tr("Admin"),
                self.tr(
                    "The test catalog this station orders from. User, station and printer "
                    "management arrive with their own work."
                ),
            )
        )
        layout.addWidget(self.status_label)
        layout.addWidget(self.table, 1)
        self.integrity = IntegrityPanel(context, parent=self)
        layout.addWidget(self.integrity)
        self.reload()

    def reload(self) -> None:
        """Fetch the catalog again in the background."""
        run_in_background(self._fetch, self._show, self._failed, owner=self)

    def _fetch(self) -> list[CatalogRow]:
        with self._context.uow() as uow:
            return list_catalog(uow)

    def _show(self, rows: list[CatalogRow]) -> None:
        self.model.set_rows(rows)
        self.status_label.show_info(self.tr("Tests in the catalog: %n", "", len(rows)))
        self.catalog_loaded.emit(len(rows))

    def _failed(self, error: Exception) -> None:
        self.status_label.show_error(error_text(error))
