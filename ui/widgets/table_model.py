"""A read-only table model over a list of frozen row DTOs, columns declared once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

R = TypeVar("R")

#: Role serving raw, comparable values so sorting does not compare display strings.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column(Generic[R]):
    """One column: header, how a row shows in it, and how it sorts.

    ``header`` is source text marked with ``QT_TRANSLATE_NOOP`` under the model's
    ``translation_context`` (typed ``object`` because PySide6's stubs type the marker so);
    it is translated when the view asks for it. ``stretch`` columns (long free text) share
    the view's spare width and elide; the others fit their contents.
    """

    header: object
    display: Callable[[R], str]
    sort_key: Callable[[R], Any] | None = None
    alignment: Qt.AlignmentFlag = _LEFT
    tooltip: Callable[[R], str] | None = None
    stretch: bool = False

    def sort_value(self, row: R) -> Any:
        """The raw value this column sorts ``row`` by (its display text if none is given)."""
        return self.sort_key(row) if self.sort_key is not None else self.display(row)


class RowTableModel(QAbstractTableModel, Generic[R]):
    """Rows are immutable DTOs; the whole list is replaced when new data arrives."""

    columns: ClassVar[Sequence[Column[Any]]] = ()
    translation_context: ClassVar[str] = "RowTableModel"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[R] = []

    def set_rows(self, rows: Sequence[R]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> R:
        """The DTO shown in ``row``."""
        return self._rows[row]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's default
        """Number of rows (a flat table: children of a valid index have none)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's default
        """Number of declared columns."""
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Display text, raw sort value, alignment or tooltip of one cell."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(row)
        if role == SORT_ROLE:
            return column.sort_value(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return column.alignment
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(row)
        return None

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Translated column headers; row headers are not shown."""
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.columns)
        ):
            return QCoreApplication.translate(
                self.translation_context, str(self.columns[section].header)
            )
        return None
