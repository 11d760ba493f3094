"""Audit log tab: filter by user, action, entity and dates; sort; export CSV; review; verify.

Dates are the clinic's calendar days (``clinic_timezone``), turned into UTC bounds for the
query. Flagged entries (break-glass use, accounts locked by failures) show until an
administrator marks them reviewed, which is itself appended to the log.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QT_TRANSLATE_NOOP, QDate, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.access import audit_log
from labdesk.access.commands import ExportAuditLog, MarkAuditReviewed, VerifyAuditLog
from labdesk.domain.audit import AuditAction
from labdesk.domain.audit_chain import ChainReport
from labdesk.domain.audit_query import AuditQuery, AuditRow
from labdesk.domain.timefmt import format_local
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.tasks import CommandOp, QueryOp
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel
from ui.widgets.table_model import RIGHT, Column, RowTableModel
from ui.widgets.table_view import sorting_table_view

_CONTEXT = "AuditTableModel"
LIMIT = 2000


def _flag(row: AuditRow) -> str:
    if not row.flagged:
        return ""
    return "reviewed" if row.reviewed else "REVIEW"


class AuditTableModel(RowTableModel[AuditRow]):
    """One row per audit entry; times shown in the clinic's zone."""

    translation_context = _CONTEXT
    zone = ZoneInfo("UTC")
    columns = (
        Column[AuditRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "#"),
            lambda r: str(r.id),
            sort_key=lambda r: r.id,
            alignment=RIGHT,
        ),
        Column[AuditRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "When"),
            lambda r: format_local(r.at, AuditTableModel.zone.key, "%Y-%m-%d %H:%M:%S"),
            sort_key=lambda r: r.at.timestamp(),
        ),
        Column[AuditRow](QT_TRANSLATE_NOOP(_CONTEXT, "User"), lambda r: r.username or "—"),
        Column[AuditRow](QT_TRANSLATE_NOOP(_CONTEXT, "Station"), lambda r: r.station),
        Column[AuditRow](QT_TRANSLATE_NOOP(_CONTEXT, "Action"), lambda r: r.action.value),
        Column[AuditRow](QT_TRANSLATE_NOOP(_CONTEXT, "Entity"), lambda r: r.entity),
        Column[AuditRow](QT_TRANSLATE_NOOP(_CONTEXT, "Record"), lambda r: r.entity_id),
        Column[AuditRow](QT_TRANSLATE_NOOP(_CONTEXT, "Outcome"), lambda r: r.outcome),
        Column[AuditRow](QT_TRANSLATE_NOOP(_CONTEXT, "Flag"), _flag),
        Column[AuditRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Detail"),
            lambda r: r.detail,
            stretch=True,
            tooltip=lambda r: r.detail,
        ),
    )


class AuditViewer(QWidget):
    """Searches the log in the background; exports what is shown."""

    loaded = Signal(int)
    exported = Signal(int)
    verified = Signal(object)  # ChainReport

    def __init__(self, context: AppContext, user: SignedInUser, parent: QWidget | None = None):
        super().__init__(parent)
        self._context = context
        self._user = user
        self._zone = ZoneInfo(context.config.clinic_timezone)
        AuditTableModel.zone = self._zone
        self.model = AuditTableModel(self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.message_label = MessageLabel(self)
        self.user_edit = QLineEdit()
        self.user_edit.setPlaceholderText(self.tr("user name"))
        self.action_combo = QComboBox()
        self.action_combo.addItem(self.tr("any action"), None)
        for action in AuditAction:
            self.action_combo.addItem(action.value, action)
        self.entity_combo = QComboBox()
        self.entity_combo.setEditable(True)
        self.entity_combo.addItems(["", "patient", "user", "specimen", "session", "audit_log"])
        self.record_edit = QLineEdit()
        self.record_edit.setPlaceholderText(self.tr("record id"))
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText(self.tr("detail contains"))
        today = QDate.currentDate()
        self.use_dates = QCheckBox(self.tr("From"))
        self.from_edit = QDateEdit(today.addDays(-7))
        self.to_edit = QDateEdit(today)
        for date_edit in (self.from_edit, self.to_edit):
            date_edit.setCalendarPopup(True)
            date_edit.setDisplayFormat("yyyy-MM-dd")
        self.flagged_check = QCheckBox(self.tr("Flagged only"))
        self._build()
        for edit in (self.user_edit, self.record_edit, self.text_edit):
            edit.returnPressed.connect(self.search)
        self.search()

    def _build(self) -> None:
        search = QPushButton(self.tr("&Search"))
        search.clicked.connect(self.search)
        export = QPushButton(self.tr("E&xport CSV…"))
        export.clicked.connect(self._export_clicked)
        review = QPushButton(self.tr("Mark &reviewed"))
        review.clicked.connect(self.mark_selected_reviewed)
        verify = QPushButton(self.tr("&Verify chain"))
        verify.clicked.connect(self.verify)
        grid = QGridLayout()
        grid.addWidget(self.user_edit, 0, 0)
        grid.addWidget(self.action_combo, 0, 1)
        grid.addWidget(self.entity_combo, 0, 2)
        grid.addWidget(self.record_edit, 0, 3)
        grid.addWidget(self.text_edit, 0, 4)
        grid.addWidget(self.use_dates, 1, 0)
        grid.addWidget(self.from_edit, 1, 1)
        grid.addWidget(QLabel(self.tr("to")), 1, 2)
        grid.addWidget(self.to_edit, 1, 3)
        grid.addWidget(self.flagged_check, 1, 4)
        for column, stretch in enumerate((2, 1, 1, 1, 2)):
            grid.setColumnStretch(column, stretch)
        buttons = QHBoxLayout()
        for button in (search, export, review, verify):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(buttons)
        layout.addWidget(self.message_label)
        layout.addWidget(self.table, 1)

    def _day_start(self, day: QDate) -> datetime:
        local = datetime.combine(date(day.year(), day.month(), day.day()), time(), self._zone)
        return local.astimezone(ZoneInfo("UTC"))

    def query(self) -> AuditQuery:
        """The filters as entered."""
        since = until = None
        if self.use_dates.isChecked():
            since = self._day_start(self.from_edit.date())
            until = self._day_start(self.to_edit.date()) + timedelta(days=1)
        action = self.action_combo.currentData()
        return AuditQuery(
            username=self.user_edit.text(),
            action=action if isinstance(action, AuditAction) else None,
            entity=self.entity_combo.currentText(),
            entity_id=self.record_edit.text(),
            since=since,
            until=until,
            text=self.text_edit.text(),
            flagged_only=self.flagged_check.isChecked(),
            limit=LIMIT,
        )

    def search(self) -> None:
        """Run the query in the background."""
        context, user = self._context, self._user
        QueryOp(context.bus, audit_log.search_audit_log, context.clock, user, self.query()).run(
            self._show, self._failed, owner=self
        )

    def _show(self, rows: list[AuditRow]) -> None:
        self.model.set_rows(rows)
        more = (
            self.tr(" (the newest {n}; narrow the filters)").format(n=LIMIT)
            if len(rows) >= LIMIT
            else ""
        )
        self.message_label.show_info(self.tr("Entries: %n", "", len(rows)) + more)
        self.loaded.emit(len(rows))

    def _failed(self, error: Exception) -> None:
        self.message_label.show_error(error_text(error))

    def export_csv(self, path: Path) -> None:
        """Write the entries matching the filters to ``path`` (audited)."""
        command = ExportAuditLog(query=self.query(), path=path)

        def done(count: int) -> None:
            self.message_label.show_info(
                self.tr("Exported %n entries to {path}.", "", count).format(path=path)
            )
            self.exported.emit(count)

        CommandOp(self._context.bus, command, self._user).run(done, self._failed, owner=self)

    def _export_clicked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, self.tr("Export audit log"), "audit-log.csv", self.tr("CSV files (*.csv)")
        )
        if name:
            self.export_csv(Path(name))

    def mark_selected_reviewed(self) -> None:
        """Record a review of the selected flagged entries."""
        proxy = self.table.model()
        ids = []
        for index in self.table.selectionModel().selectedRows():
            row = self.model.row_at(proxy.mapToSource(index).row())  # type: ignore[attr-defined]
            if row.flagged and not row.reviewed:
                ids.append(row.id)
        if not ids:
            self.message_label.show_error(self.tr("Select flagged entries that need review."))
            return
        command = MarkAuditReviewed(entry_ids=tuple(ids))
        CommandOp(self._context.bus, command, self._user).run(
            lambda _n: self.search(), self._failed, owner=self
        )

    def verify(self) -> None:
        """Check the hash chain (the check is recorded in the log) and say what was found."""
        CommandOp(self._context.bus, VerifyAuditLog(), self._user).run(
            self._verified, self._failed, owner=self
        )

    def _verified(self, report: ChainReport) -> None:
        if report.ok:
            self.message_label.show_info(
                self.tr("The audit log is intact: %n entries checked.", "", report.checked)
            )
        else:
            details = "; ".join([*report.guards, *(str(p) for p in report.problems[:5])])
            self.message_label.show_error(
                self.tr("THE AUDIT LOG WAS TAMPERED WITH: {details}").format(details=details)
            )
        self.verified.emit(report)
