"""The board's table view: multi-row selection, fixed column widths, sorted through the model."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ui.results.board_model import BoardTableModel

COLUMN_WIDTHS = (220, 130, 160, 80, 190, 90, 70, 65, 150, 120, 120, 100)


class BoardTableView(QTableView):
    """A read-only table over a :class:`BoardTableModel`; a header click re-queries.

    The header's sort indicator follows the model's query, also when a load or a failed
    read left the order other than the one last clicked.
    """

    def __init__(self, model: BoardTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self._board = model
        header = self.horizontalHeader()
        header.setSortIndicatorShown(True)
        self.show_sort()
        # After the indicator: enabling sorting sorts by it at once, and that is the
        # model's own order, so nothing is read.
        self.setSortingEnabled(True)
        model.query_changed.connect(self.show_sort)
        model.fetch_failed.connect(self.show_sort)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        # Fixed widths and row heights: fitting to contents would read every page.
        for section, width in enumerate(COLUMN_WIDTHS):
            header.resizeSection(section, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)

    def show_sort(self, _reason: Any = None) -> None:
        """Point the header's sort indicator at the model's order."""
        query = self._board.query
        order = Qt.SortOrder.DescendingOrder if query.descending else Qt.SortOrder.AscendingOrder
        column = self._board.column_of(query.sort)
        header = self.horizontalHeader()
        if header.sortIndicatorSection() != column or header.sortIndicatorOrder() != order:
            header.setSortIndicator(column, order)
