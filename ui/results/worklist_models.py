"""Table models of the result worklist: open unmatched results and discrepancies, and the
tests a person may match one to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Qt
from PySide6.QtGui import QBrush, QColor

from labdesk.domain.timefmt import format_local
from labdesk.interface.worklist import MatchCandidate, UnmatchedRow
from ui.results.board_model import status_label
from ui.widgets.table_model import Column, ModelIndex, RowTableModel

_CONTEXT = "WorklistModels"
DISCREPANCY_BACKGROUND = QColor("#ffd7dc")


def _tr(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def kind_label(row: UnmatchedRow) -> str:
    """What the row is: a result discrepancy (the lab rejected or lost the specimen) or a
    result that matched no ordered test."""
    return _tr("Discrepancy") if row.is_discrepancy else _tr("Unmatched")


class UnmatchedTableModel(RowTableModel[UnmatchedRow]):
    """Open worklist rows, oldest first; discrepancies in red."""

    translation_context = _CONTEXT

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timezone = timezone
        self._columns = (
            Column[UnmatchedRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Received"),
                lambda r: format_local(r.received_at, self.timezone),
                sort_key=lambda r: r.received_at,
            ),
            Column[UnmatchedRow](QT_TRANSLATE_NOOP(_CONTEXT, "Kind"), kind_label),
            Column[UnmatchedRow](QT_TRANSLATE_NOOP(_CONTEXT, "MRN"), lambda r: r.patient_mrn),
            Column[UnmatchedRow](QT_TRANSLATE_NOOP(_CONTEXT, "Patient"), lambda r: r.patient_name),
            Column[UnmatchedRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Specimen ID"), lambda r: r.accession or "—"
            ),
            Column[UnmatchedRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Test"),
                lambda r: (
                    r.test_code
                    if r.test_name in ("", r.test_code)
                    else (f"{r.test_code} {r.test_name}")
                ),
            ),
            Column[UnmatchedRow](
                QT_TRANSLATE_NOOP(_CONTEXT, "Reason"),
                lambda r: r.reason,
                tooltip=lambda r: r.reason,
                stretch=True,
            ),
        )

    @property
    def columns(self) -> Sequence[Column[Any]]:  # type: ignore[override]
        """Declared once per model: the received time needs the model's time zone."""
        return self._columns

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Adds a red background to discrepancies."""
        if role == Qt.ItemDataRole.BackgroundRole and index.isValid():
            row = self.row_at(index.row())
            return QBrush(DISCREPANCY_BACKGROUND) if row.is_discrepancy else None
        return super().data(index, role)


class CandidateTableModel(RowTableModel[MatchCandidate]):
    """The patient's open tests (the one the result names first)."""

    translation_context = _CONTEXT

    def __init__(self, timezone: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timezone = timezone
        self._columns = (
            Column[MatchCandidate](
                QT_TRANSLATE_NOOP(_CONTEXT, "Order"), lambda c: c.placer_order_number
            ),
            Column[MatchCandidate](
                QT_TRANSLATE_NOOP(_CONTEXT, "Ordered"),
                lambda c: format_local(c.ordered_at, self.timezone),
                sort_key=lambda c: c.ordered_at,
            ),
            Column[MatchCandidate](
                QT_TRANSLATE_NOOP(_CONTEXT, "Test"), lambda c: f"{c.test_code} {c.test_name}"
            ),
            Column[MatchCandidate](
                QT_TRANSLATE_NOOP(_CONTEXT, "Specimen ID"), lambda c: c.accession or "—"
            ),
            Column[MatchCandidate](
                QT_TRANSLATE_NOOP(_CONTEXT, "Status"),
                lambda c: (
                    status_label(c.status) + (_tr(" (named by the result)") if c.named else "")
                ),
                stretch=True,
            ),
        )

    @property
    def columns(self) -> Sequence[Column[Any]]:  # type: ignore[override]
        """Declared once per model: the order time needs the model's time zone."""
        return self._columns
