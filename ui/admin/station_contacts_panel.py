"""Admin "Station contacts" tab (issue 12 item 6): each station's last heartbeat.

Last contact, outbox depth, accession IDs left, the reserved-but-unused ranges (a gap in
the numbers, not a lost tube) and clock skew; a skew over two minutes is highlighted.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTableView, QVBoxLayout, QWidget

from labdesk.domain.timefmt import format_local
from labdesk.downtime.contacts import StationContact, stations_in
from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.tasks import QueryOp
from ui.widgets.errors import error_text
from ui.widgets.message_label import MessageLabel
from ui.widgets.table_model import Column, RowTableModel
from ui.widgets.table_view import sorting_table_view

_CONTEXT = "StationContactsTableModel"
_WARN = QBrush(QColor("#f8d7a9"))


def _num(value: int | None) -> str:
    return "—" if value is None else str(value)


def _skew(row: StationContact) -> str:
    return "—" if row.skew_seconds is None else f"{row.skew_seconds:+.0f} s"


def _unused(row: StationContact) -> str:
    return ", ".join(f"{u.year}: {u.first}–{u.last}" for u in row.unused) or "—"


class StationContactsTableModel(RowTableModel[StationContact]):
    """One row per station; the skew cell is highlighted beyond two minutes."""

    translation_context = _CONTEXT
    timezone = "UTC"
    columns = (
        Column[StationContact](QT_TRANSLATE_NOOP(_CONTEXT, "Station"), lambda r: r.station),
        Column[StationContact](
            QT_TRANSLATE_NOOP(_CONTEXT, "Last contact"),
            lambda r: (
                format_local(
                    r.last_contact_at, StationContactsTableModel.timezone, "%Y-%m-%d %H:%M"
                )
                if r.last_contact_at is not None
                else "never"
            ),
        ),
        Column[StationContact](
            QT_TRANSLATE_NOOP(_CONTEXT, "Outbox pending"), lambda r: _num(r.outbox_pending)
        ),
        Column[StationContact](
            QT_TRANSLATE_NOOP(_CONTEXT, "Conflicts"), lambda r: _num(r.outbox_conflicts)
        ),
        Column[StationContact](
            QT_TRANSLATE_NOOP(_CONTEXT, "IDs left"), lambda r: _num(r.block_remaining)
        ),
        Column[StationContact](
            QT_TRANSLATE_NOOP(_CONTEXT, "Reserved, unused"), _unused, stretch=True
        ),
        Column[StationContact](QT_TRANSLATE_NOOP(_CONTEXT, "Clock skew"), _skew),
        Column[StationContact](QT_TRANSLATE_NOOP(_CONTEXT, "Version"), lambda r: r.app_version),
    )
    SKEW_COLUMN = 6

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """As the base model, plus a warning background for a skew over two minutes."""
        if (
            role == Qt.ItemDataRole.BackgroundRole
            and index.isValid()
            and index.column() == self.SKEW_COLUMN
            and self.row_at(index.row()).skew_warning
        ):
            return _WARN
        return super().data(index, role)


class StationContactsPanel(QWidget):
    """Lists every station the server heard from or reserved accession IDs for."""

    loaded = Signal(int)

    def __init__(self, context: AppContext, user: SignedInUser, parent: QWidget | None = None):
        super().__init__(parent)
        self._context = context
        self._user = user
        StationContactsTableModel.timezone = context.config.clinic_timezone
        self.model = StationContactsTableModel(self)
        self.table: QTableView = sorting_table_view(self.model, self)
        self.message_label = MessageLabel(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message_label)
        layout.addWidget(self.table, 1)
        self.reload()

    def reload(self) -> None:
        """Fetch the stations' contacts in the background."""
        QueryOp(self._context.bus, stations_in).run(self._show, self._failed, owner=self)

    def _show(self, rows: list[StationContact]) -> None:
        self.model.set_rows(rows)
        warned = sum(r.skew_warning for r in rows)
        text = self.tr("%n station(s).", "", len(rows))
        if warned:
            text += " " + self.tr("%n clock(s) off by more than 2 minutes.", "", warned)
        self.message_label.show_info(text)
        self.loaded.emit(len(rows))

    def _failed(self, error: Exception) -> None:
        self.message_label.show_error(error_text(error))
