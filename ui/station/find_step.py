"""Step 1: find the patient — scan the wristband, or search as you type; today's worklist."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from labdesk.domain.permissions import allows
from labdesk.kernel.dto import PatientSummary, SignedInUser
from labdesk.station.commands import SearchPatients
from labdesk.station.dto import RecollectionRow, Worklist
from labdesk.station.patients import search_date_formats
from labdesk.station.recollection import CANCEL_PERMISSION
from labdesk.station.worklist import station_worklist
from ui.context import AppContext
from ui.scanner import route_scans_from
from ui.station.models import PickupModel, RecollectModel, WaitingModel
from ui.station.patient_table_model import PatientTableModel
from ui.station.tables import fit_once, station_table
from ui.station.timed_panel import TimedDrawPanel
from ui.tasks import CommandOp, QueryOp
from ui.widgets.errors import error_text
from ui.widgets.feedback import COLOURS, Tone
from ui.widgets.message_label import MessageLabel

#: Wait this long after the last keystroke before searching (fast typists send one query).
SEARCH_DEBOUNCE_MS = 150
SEARCH_LIMIT = 25


class FindStep(QWidget):
    """Search box, results, and the worklist (waiting patients, tubes awaiting pickup)."""

    results_shown = Signal(int)
    worklist_shown = Signal(int)
    worklist_failed = Signal(str)
    """The worklist could not be loaded: the message shown above it."""
    patient_chosen = Signal(int)
    recollection_chosen = Signal(int, int)
    """A recollection task to draw: its id and the patient's."""
    cancel_recollection_requested = Signal(object)
    """The :class:`RecollectionRow` to cancel (the page asks why)."""

    def __init__(
        self, context: AppContext, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._user = user
        # Each query gets a number; results of a query overtaken by a newer one are dropped.
        self._query_serial = 0
        tz = context.config.clinic_timezone
        self.model = PatientTableModel(self)
        self.waiting_model = WaitingModel(tz, self)
        self.pickup_model = PickupModel(tz, self)
        self.recollect_model = RecollectModel(tz, self)
        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText(
            self.tr("Scan the wristband, or type name, date of birth or MRN (smith jo, 1980-03-04)")
        )
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName(self.tr("Patient search"))
        route_scans_from(self.search_edit)
        self.status_label = MessageLabel(self)
        self.table: QTableView = station_table(self.model, self)
        self.table.activated.connect(self._choose_result)
        self.waiting_table = station_table(self.waiting_model, self)
        self.waiting_table.activated.connect(self._choose_waiting)
        self.pickup_table = station_table(self.pickup_model, self)
        self.pickup_table.activated.connect(self._open_timeline)
        self.pickup_table.setToolTip(
            self.tr("Enter or double-click: the specimen's custody timeline")
        )
        self.recollect_table = station_table(self.recollect_model, self)
        self.recollect_table.activated.connect(self._choose_recollect)
        self.recollect_table.setToolTip(
            self.tr("Enter or double-click: draw the tests again (the patient's ID is checked)")
        )
        self.cancel_recollection_button = QPushButton(self.tr("Cancel recollection…"), self)
        self.cancel_recollection_button.setToolTip(
            self.tr("Close the selected task without drawing again, with a reason")
        )
        self.cancel_recollection_button.clicked.connect(self._cancel_recollect)
        self.worklist_tabs = QTabWidget(self)
        self.worklist_tabs.addTab(self.waiting_table, self.tr("Waiting for collection"))
        self.worklist_tabs.addTab(self.pickup_table, self.tr("Awaiting courier pickup"))
        self.worklist_tabs.addTab(self.recollect_table, self.tr("To recollect"))
        self.timed_panel = TimedDrawPanel(tz, context.clock.now, self)
        self.timed_panel.patient_chosen.connect(self.patient_chosen)
        self.timed_panel.alarm_raised.connect(self._timed_alarm)
        self.worklist_tabs.addTab(self.timed_panel, self.tr("Timed draws"))
        self.worklist_label = MessageLabel(self)
        self.worklist_tabs.currentChanged.connect(self._tab_changed)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._search)
        self.search_edit.textChanged.connect(self._debounce.start)
        self.search_edit.returnPressed.connect(self._enter)
        self._build_layout()
        self._build_actions()
        self.setFocusProxy(self.search_edit)

    def _build_layout(self) -> None:
        results = QWidget(self)
        top = QVBoxLayout(results)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.search_edit)
        top.addWidget(self.status_label)
        top.addWidget(self.table, 1)
        worklist = QWidget(self)
        bottom = QVBoxLayout(worklist)
        bottom.setContentsMargins(0, 0, 0, 0)
        heading = QLabel(self.tr("<b>Today</b> (F5 refreshes)"))
        bar = QHBoxLayout()
        bar.addWidget(heading, 1)
        bar.addWidget(self.cancel_recollection_button)
        bottom.addLayout(bar)
        bottom.addWidget(self.worklist_label)
        bottom.addWidget(self.worklist_tabs, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(results)
        splitter.addWidget(worklist)
        splitter.setSizes([380, 320])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter, 1)
        self.setTabOrder(self.search_edit, self.table)
        self.setTabOrder(self.table, self.worklist_tabs)
        self._tab_changed(self.worklist_tabs.currentIndex())

    def _build_actions(self) -> None:
        refresh = QAction(self.tr("Refresh the worklist"), self)
        refresh.setShortcut(QKeySequence(Qt.Key.Key_F5))
        refresh.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        refresh.triggered.connect(self.reload_worklist)
        focus = QAction(self.tr("Search"), self)
        focus.setShortcut(QKeySequence("Ctrl+F"))
        focus.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        focus.triggered.connect(self.focus_search)
        down = QAction(self.tr("Go to the results"), self.search_edit)
        down.setShortcut(QKeySequence(Qt.Key.Key_Down))
        down.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        down.triggered.connect(self._to_results)
        self.search_edit.addAction(down)
        self.addActions([refresh, focus])

    def focus_search(self) -> None:
        """Put the cursor in the search box, text selected."""
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def reset(self) -> None:
        """Ready for the next patient."""
        self.search_edit.clear()
        self.model.set_rows([])
        self.reload_worklist()
        self.focus_search()

    # ---------------------------------------------------------------- search

    def _enter(self) -> None:
        """Enter: search now if results are stale, else open the only result."""
        if self._debounce.isActive():
            self._debounce.stop()
            self._search()
        elif self.model.rowCount() == 1:
            self.patient_chosen.emit(self.model.row_at(0).id)
        else:
            self._search()

    def _to_results(self) -> None:
        if self.model.rowCount():
            self.table.setFocus()
            self.table.selectRow(0)

    def _search(self) -> None:
        query = self.search_edit.text().strip()
        self._query_serial += 1
        serial = self._query_serial
        if not query:
            self.model.set_rows([])
            self.status_label.show_info("")
            return
        command = SearchPatients(
            query=query,
            limit=SEARCH_LIMIT,
            date_formats=search_date_formats(self._context.config.date_formats),
        )
        CommandOp(self._context.bus, command, self._user).run(
            lambda rows: self._show(serial, rows),
            lambda error: self._failed(serial, error),
            owner=self,
        )

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
            self.status_label.show_info(
                self.tr("Patients found: %n. Enter or double-click opens one.", "", len(rows))
            )
        self.results_shown.emit(len(rows))

    def _failed(self, serial: int, error: Exception) -> None:
        if serial == self._query_serial:
            self.status_label.show_error(error_text(error))

    def _choose_result(self, index: QModelIndex) -> None:
        source = self.table.model().mapToSource(index)  # type: ignore[attr-defined]
        self.patient_chosen.emit(self.model.row_at(source.row()).id)

    def _choose_recollect(self, index: QModelIndex) -> None:
        source = self.recollect_table.model().mapToSource(index)  # type: ignore[attr-defined]
        row = self.recollect_model.row_at(source.row())
        self.recollection_chosen.emit(row.task_id, row.patient.id)

    def selected_recollection(self) -> RecollectionRow | None:
        """The recollection task selected in the "To recollect" list."""
        selected = self.recollect_table.selectionModel().selectedRows()
        if not selected:
            return None
        source = self.recollect_table.model().mapToSource(selected[0])  # type: ignore[attr-defined]
        row: RecollectionRow = self.recollect_model.row_at(source.row())
        return row

    def _cancel_recollect(self) -> None:
        row = self.selected_recollection()
        if row is None:
            self.worklist_label.show_error(self.tr("Select the task to cancel first."))
            return
        self.cancel_recollection_requested.emit(row)

    def _tab_changed(self, index: int) -> None:
        self.cancel_recollection_button.setVisible(
            allows(self._user.role, CANCEL_PERMISSION)  # a clinician's decision
            and self.worklist_tabs.widget(index) is self.recollect_table
        )

    def _open_timeline(self, index: QModelIndex) -> None:
        from ui.widgets.specimen_timeline import open_specimen_timeline

        source = self.pickup_table.model().mapToSource(index)  # type: ignore[attr-defined]
        row = self.pickup_model.row_at(source.row())
        open_specimen_timeline(self, self._context, None, self._user, accession=row.accession)

    def _choose_waiting(self, index: QModelIndex) -> None:
        source = self.waiting_table.model().mapToSource(index)  # type: ignore[attr-defined]
        self.patient_chosen.emit(self.waiting_model.row_at(source.row()).patient.id)

    # ---------------------------------------------------------------- worklist

    def reload_worklist(self) -> None:
        """Fetch today's worklist in the background."""
        config, bus = self._context.config, self._context.bus
        station, zone = config.station_code, config.clinic_timezone
        QueryOp(bus, station_worklist, bus.clock, self._user, station, zone).run(
            self._show_worklist, self._worklist_failed, owner=self
        )

    def _show_worklist(self, worklist: Worklist) -> None:
        self.waiting_model.set_rows(worklist.waiting)
        self.pickup_model.set_rows(worklist.awaiting_pickup)
        self.recollect_model.set_rows(worklist.recollections)
        for table in (self.waiting_table, self.pickup_table, self.recollect_table):
            fit_once(table)
        self.worklist_tabs.setTabText(
            0, self.tr("Waiting for collection (%n)", "", len(worklist.waiting))
        )
        self.worklist_tabs.setTabText(
            1, self.tr("Awaiting courier pickup (%n)", "", len(worklist.awaiting_pickup))
        )
        self.worklist_tabs.setTabText(
            2, self.tr("To recollect (%n)", "", len(worklist.recollections))
        )
        self.worklist_label.show_info("")
        self._show_timed(worklist)
        self.worklist_shown.emit(len(worklist.waiting))

    def _show_timed(self, worklist: Worklist) -> None:
        """The timed-draws tab: its count, and an alarm line while a step is due."""
        self.timed_panel.set_rows(worklist.timed_draws)
        due = len(self.timed_panel.alarming())
        text = self.tr("Timed draws (%n)", "", len(worklist.timed_draws))
        self.worklist_tabs.setTabText(3, text + (self.tr(" - %n due", "", due) if due else ""))

    def _timed_alarm(self, text: str) -> None:
        self.worklist_label.show_error(text)
        index = self.worklist_tabs.indexOf(self.timed_panel)
        self.worklist_tabs.tabBar().setTabTextColor(index, QColor(COLOURS[Tone.ALARM]))

    def _worklist_failed(self, error: Exception) -> None:
        text = error_text(error)
        self.worklist_label.show_error(text)
        self.worklist_failed.emit(text)
