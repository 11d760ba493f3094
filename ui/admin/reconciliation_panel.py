"""Downtime reconciliation worklist (issue 12 item 5): each conflict, both sides, a decision.

A thin view over :mod:`labdesk.downtime.reconcile`: the table lists open conflicts with
what the station did and what the server had; the chosen row's allowed resolutions fill
the combo box; Resolve (Ctrl+Return, or Return in the note) sends :class:`ResolveConflict`
off the UI thread, and the command is audited by its handler.

The same widget is the station's view (``station=`` its code): only that station's
conflicts, for whoever works there; resolving still needs what the handler enforces
(:data:`~labdesk.downtime.reconcile.RESOLVE_PERMISSION`), so a user without it sees why
up front and gets a plain refusal instead of a silent no-op.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from labdesk.domain.errors import PermissionDenied
from labdesk.domain.permissions import allows
from labdesk.domain.timefmt import format_local
from labdesk.downtime.reconcile import (
    RESOLUTION_LABELS,
    RESOLVE_PERMISSION,
    ReconciliationItem,
    Resolution,
    ResolveConflict,
    items_in,
)
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.tasks import CommandOp, QueryOp
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel
from ui.widgets.table_model import Column, RowTableModel
from ui.widgets.table_view import sorting_table_view

_CONTEXT = "ReconciliationTableModel"
_STATION_HEADER = QT_TRANSLATE_NOOP(_CONTEXT, "Station")
_KINDS = {
    "double_collection": QT_TRANSLATE_NOOP(_CONTEXT, "Collected at two stations"),
    "order_cancelled": QT_TRANSLATE_NOOP(_CONTEXT, "Order cancelled meanwhile"),
    "patient_changed": QT_TRANSLATE_NOOP(_CONTEXT, "Patient changed meanwhile"),
    "label_for_cancelled": QT_TRANSLATE_NOOP(_CONTEXT, "Label for a cancelled test"),
    "offline_order": QT_TRANSLATE_NOOP(_CONTEXT, "Order placed offline: review"),
    "accessions_differ": QT_TRANSLATE_NOOP(_CONTEXT, "Accessions differ: relabel the tubes"),
    "other": QT_TRANSLATE_NOOP(_CONTEXT, "Other refusal"),
}


def _refs(item: ReconciliationItem) -> str:
    parts = [
        f"{name} {value}"
        for name, value in (
            ("test", item.ordered_test_id),
            ("specimen", item.specimen_id),
            ("patient", item.patient_id),
        )
        if value is not None
    ]
    return ", ".join(parts) or "—"


class ReconciliationTableModel(RowTableModel[ReconciliationItem]):
    """One row per open conflict."""

    translation_context = _CONTEXT
    timezone = "UTC"
    columns = (
        Column[ReconciliationItem](QT_TRANSLATE_NOOP(_CONTEXT, "#"), lambda r: str(r.id)),
        Column[ReconciliationItem](
            QT_TRANSLATE_NOOP(_CONTEXT, "Kind"), lambda r: str(_KINDS[r.kind.value])
        ),
        Column[ReconciliationItem](_STATION_HEADER, lambda r: r.station),
        Column[ReconciliationItem](
            QT_TRANSLATE_NOOP(_CONTEXT, "Happened (station)"),
            lambda r: format_local(
                r.happened_at, ReconciliationTableModel.timezone, "%Y-%m-%d %H:%M"
            ),
            sort_key=lambda r: r.happened_at,
        ),
        Column[ReconciliationItem](
            QT_TRANSLATE_NOOP(_CONTEXT, "Station did"), lambda r: r.station_summary
        ),
        Column[ReconciliationItem](QT_TRANSLATE_NOOP(_CONTEXT, "Records"), _refs),
        Column[ReconciliationItem](
            QT_TRANSLATE_NOOP(_CONTEXT, "Server had"), lambda r: r.server_reason, stretch=True
        ),
    )


class ReconciliationPanel(QWidget):
    """The worklist: pick a conflict, choose an allowed resolution, add a note, resolve.

    Args:
        station: a station's code: list only the conflicts of that station's offline work
            (the station's view); None: every station's (the Admin tab).
        load: fetch the list now; False when the caller loads it once the server answers
            (the station's view is built while the station may be offline).
    """

    loaded = Signal(int)
    resolved = Signal(int)

    def __init__(
        self,
        context: AppContext,
        user: SignedInUser,
        parent: QWidget | None = None,
        *,
        station: str | None = None,
        load: bool = True,
    ):
        super().__init__(parent)
        self._context = context
        self._user = user
        self.station = station
        self.may_resolve = allows(user.role, RESOLVE_PERMISSION, emergency=user.emergency)
        ReconciliationTableModel.timezone = context.config.clinic_timezone
        self.model = ReconciliationTableModel(self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.message_label = MessageLabel(self)
        self.permission_note = QLabel(
            self.tr(
                "You can see what each side did. Resolving a conflict needs a user who may "
                "{permission} (an administrator)."
            ).format(permission=RESOLVE_PERMISSION.value)
        )
        self.permission_note.setWordWrap(True)
        self.permission_note.setVisible(not self.may_resolve)
        self.detail = QLabel(self.tr("Choose a conflict above."))
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A wrapped label in a form row gets one line's height; the server's reason is often
        # three or four lines, so keep room for them (the table above takes the rest).
        self.detail.setMinimumHeight(self.detail.fontMetrics().lineSpacing() * 5)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.resolution_combo = QComboBox()
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText(self.tr("What was done with the tube or label"))
        self.resolve_button = QPushButton(self.tr("&Resolve"))
        self.resolve_button.setEnabled(False)
        self.resolve_button.clicked.connect(self.resolve_selected)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.resolve_selected)
        self.note_edit.returnPressed.connect(self.resolve_selected)
        form = QFormLayout()
        form.addRow(self.tr("Conflict"), self.detail)
        form.addRow(self.tr("Re&solution"), self.resolution_combo)
        form.addRow(self.tr("&Note"), self.note_edit)
        form.addRow("", self.resolve_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.permission_note)
        layout.addLayout(form)
        if station is not None:  # every row would say the same station
            headers = [column.header for column in self.model.columns]
            self.table.setColumnHidden(headers.index(_STATION_HEADER), True)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._chosen())
        if load:
            self.reload()

    def reload(self) -> None:
        """Fetch the open conflicts (this station's, for a station view) in the background."""
        QueryOp(self._context.bus, items_in, station=self.station).run(
            self._show, self._failed, owner=self
        )

    def _show(self, items: list[ReconciliationItem]) -> None:
        self.model.set_rows(items)
        if self.station is not None:
            self._show_count_at_station(len(items))
        elif items:
            self.message_label.show_info(
                self.tr("%n downtime conflict(s) to reconcile.", "", len(items))
            )
        else:
            self.message_label.show_info(self.tr("No downtime conflicts to reconcile."))
        if items:
            self.table.selectRow(0)
        self._chosen()
        self.loaded.emit(len(items))

    def _show_count_at_station(self, count: int) -> None:
        if count:
            text = self.tr(
                "Conflicts to reconcile from this station's offline work (station {station}): %n",
                "",
                count,
            )
        else:
            text = self.tr("No downtime conflicts from station {station} to reconcile.")
        self.message_label.show_info(text.format(station=self.station))

    def _failed(self, error: Exception) -> None:
        self.message_label.show_error(error_text(error))

    def current_item(self) -> ReconciliationItem | None:
        """The conflict chosen in the table."""
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        source = self.table.model().mapToSource(index)  # type: ignore[attr-defined]
        return self.model.row_at(source.row())

    def _chosen(self) -> None:
        item = self.current_item()
        self.resolution_combo.clear()
        self.resolve_button.setEnabled(item is not None)
        if item is None:
            self.detail.setText(self.tr("Choose a conflict above."))
            return
        self.detail.setText(
            self.tr("Station {station} did: {did}\nServer had: {had}").format(
                station=item.station, did=item.station_summary, had=item.server_reason
            )
        )
        for resolution in item.allowed:
            self.resolution_combo.addItem(RESOLUTION_LABELS[resolution], resolution)

    def resolve_selected(self) -> None:
        """Send the chosen resolution for the chosen conflict (audited by its handler)."""
        item = self.current_item()
        resolution = self.resolution_combo.currentData()
        if item is None or resolution is None:
            return
        command = ResolveConflict(
            item_id=item.id, resolution=Resolution(resolution), note=self.note_edit.text()
        )
        self.resolve_button.setEnabled(False)
        CommandOp(self._context.bus, command, self._user).run(
            self._done, self._failed_resolve, owner=self
        )

    def _failed_resolve(self, error: Exception) -> None:
        self.resolve_button.setEnabled(True)
        if isinstance(error, PermissionDenied):
            self.message_label.show_error(
                self.tr(
                    "Not resolved, nothing was changed. {error} An administrator can resolve "
                    "it here or in Admin, Downtime reconciliation."
                ).format(error=error_text(error))
            )
            return
        self._failed(error)

    def _done(self, item: ReconciliationItem) -> None:
        self.note_edit.clear()
        self.message_label.show_info(self.tr("Conflict #{id} resolved.").format(id=item.id))
        self.resolved.emit(item.id)
        self.reload()
