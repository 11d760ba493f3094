"""The board's table view: multi-row selection, fixed column widths, sorted by due time."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ui.results.board_proxy import BoardProxyModel

COLUMN_WIDTHS = (220, 130, 160, 80, 190, 90, 70, 65, 150, 120, 120, 100)


def board_table_view(proxy: BoardProxyModel, sort_column: int, parent: QWidget) -> QTableView:
    """A read-only table over ``proxy``, sorted on ``sort_column`` until the user sorts."""
    view = QTableView(parent)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    header = view.horizontalHeader()
    header.setSortIndicatorShown(True)
    header.setSortIndicator(sort_column, Qt.SortOrder.AscendingOrder)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    # Fixed widths: fitting columns to their contents would ask for thousands of cells.
    for section, width in enumerate(COLUMN_WIDTHS):
        header.resizeSection(section, width)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    return view
