"""Phlebotomy station page: find the patient (orders and labels come with their issues)."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLineEdit, QTableView, QVBoxLayout, QWidget

from labdesk.services.dto import PatientSummary
from labdesk.services.patients import search_patients
from ui.context import AppContext
from ui.errors import error_text
from ui.message_label import MessageLabel
from ui.pages.page_header import PageHeader
from ui.pages.patient_table_model import PatientTableModel
from ui.table_view import sorting_table_view
from ui.tasks import run_in_background

#: Wait this long after the last keystroke before searching (fast typists send one query).
SEARCH_DEBOUNCE_MS = 150
SEARCH_LIMIT = 25


class StationPage(QWidget):
    """Search-as-you-type over patients by name, date of birth or MRN."""

    results_shown = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        # Each query gets a number; results of a query overtaken by a newer one are dropped.
        self._query_serial = 0
        self.model = PatientTableModel(self)
        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText(
            self.tr("Name, date of birth or MRN, e.g. smith jo, 1980-03-04, 03/04/1980")
        )
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName(self.tr("Patient search"))
        self.status_label = MessageLabel(self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._search)
        self.search_edit.textChanged.connect(self._debounce.start)
        self.search_edit.returnPressed.connect(self._search_now)

        layout = QVBoxLayout(self)
        layout.addWidget(
            PageHeader(
                self.tr("Station"),
                self.tr(
                    "Find the patient by name, date of birth or MRN. Orders, the draw plan and "
                    "labels arrive with the collection work."
                ),
            )
        )
        layout.addWidget(self.search_edit)
        layout.addWidget(self.status_label)
        layout.addWidget(self.table, 1)
        self.setFocusProxy(self.search_edit)

    def _search_now(self) -> None:
        self._debounce.stop()
        self._search()

    def _search(self) -> None:
        query = self.search_edit.text().strip()
        self._query_serial += 1
        serial = self._query_serial
        if not query:
            self.model.set_rows([])
            self.status_label.show_info("")
            return
        run_in_background(
            lambda: self._find(query),
            lambda rows: self._show(serial, rows),
            lambda error: self._failed(serial, error),
            owner=self,
        )

    def _find(self, query: str) -> list[PatientSummary]:
        with self._context.uow() as uow:
            return search_patients(uow, query, limit=SEARCH_LIMIT)

    def _show(self, serial: int, rows: list[PatientSummary]) -> None:
        if serial != self._query_serial:
            return
        self.model.set_rows(rows)
        if not rows:
            self.status_label.show_info(self.tr("No patient matches. Check the spelling or DOB."))
        elif len(rows) >= SEARCH_LIMIT:
            self.status_label.show_info(
                self.tr("Showing the first %n patients: type more to narrow.", "", len(rows))
            )
        else:
            self.status_label.show_info(self.tr("Patients found: %n", "", len(rows)))
        self.results_shown.emit(len(rows))

    def _failed(self, serial: int, error: Exception) -> None:
        if serial == self._query_serial:
            self.status_label.show_error(error_text(error))
