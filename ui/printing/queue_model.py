"""The print queue as a table: one row per print job, problems in red."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Qt

from labdesk.domain.printing import PrintJobKind, PrintJobStatus
from labdesk.domain.timefmt import format_local
from labdesk.printing.dto import PrintJobRow
from ui.widgets.message_label import ERROR_COLOUR
from ui.widgets.table_model import RIGHT, Column, ModelIndex, RowTableModel

_CONTEXT = "PrintQueueModel"
# Problems first when sorted by status: they need a person.
_STATUS_ORDER = {"unconfirmed": 0, "failed": 1, "queued": 2, "done": 3}


def status_key(row: PrintJobRow) -> str:
    """``unconfirmed`` for a job whose printing could not be confirmed, else its status."""
    return "unconfirmed" if row.unconfirmed else row.status.value


def status_label(row: PrintJobRow) -> str:
    """Translated status as the queue shows it."""
    labels = {
        "queued": QCoreApplication.translate(_CONTEXT, "Waiting for printer"),
        "unconfirmed": QCoreApplication.translate(_CONTEXT, "Unconfirmed — check the tube"),
        "done": QCoreApplication.translate(_CONTEXT, "Printed"),
        "failed": QCoreApplication.translate(_CONTEXT, "Failed"),
    }
    return labels[status_key(row)]


def _what(row: PrintJobRow) -> str:
    if row.kind is PrintJobKind.TEST:
        return QCoreApplication.translate(_CONTEXT, "test label")
    if row.reprint_of_id is not None:
        return QCoreApplication.translate(_CONTEXT, "{accession} (reprint of {job})").format(
            accession=row.accession or "", job=row.reprint_of_id
        )
    return row.accession or ""


class PrintQueueModel(RowTableModel[PrintJobRow]):
    """Rows of ``PrintJobRow`` as ``list_print_jobs`` returns them (newest first).

    Times show in the clinic's zone, which the columns (declared once, per class) cannot
    know: ``data`` formats the Created column with the instance's ``timezone``.
    """

    translation_context = _CONTEXT
    CREATED = 1
    columns = (
        Column[PrintJobRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Job"),
            lambda r: str(r.id),
            sort_key=lambda r: r.id,
            alignment=RIGHT,
        ),
        Column[PrintJobRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Created"),
            lambda r: format_local(r.created_at, "UTC"),
            sort_key=lambda r: r.created_at.timestamp(),
        ),
        Column[PrintJobRow](QT_TRANSLATE_NOOP(_CONTEXT, "Specimen"), _what),
        Column[PrintJobRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Status"),
            status_label,
            sort_key=lambda r: _STATUS_ORDER[status_key(r)],
        ),
        Column[PrintJobRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Attempts"),
            lambda r: str(r.attempts),
            sort_key=lambda r: r.attempts,
            alignment=RIGHT,
        ),
        Column[PrintJobRow](
            QT_TRANSLATE_NOOP(_CONTEXT, "Last error"),
            lambda r: r.last_error,
            tooltip=lambda r: r.last_error,
            stretch=True,
        ),
    )

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timezone = timezone

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell data; failed and unconfirmed jobs are red (they need a person)."""
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        row = self.row_at(index.row())
        if role == Qt.ItemDataRole.ForegroundRole:
            problem = row.unconfirmed or row.status is PrintJobStatus.FAILED
            return ERROR_COLOUR if problem else None
        if role == Qt.ItemDataRole.DisplayRole and index.column() == self.CREATED:
            return format_local(row.created_at, self.timezone)
        return super().data(index, role)
