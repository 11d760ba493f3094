"""The board's table view: multi-row selection, fixed column widths, sorted through the model.

The model reads pages lazily, so the selection is handled as ranges of positions (a select
all of 100,000 rows is one range), and rows are read only when an action needs them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from labdesk.results.board_dto import BoardRow
from ui.results.board_model import BoardTableModel

COLUMN_WIDTHS = (220, 130, 160, 80, 190, 90, 70, 65, 150, 120, 120, 100)
RESELECT_PAGES = 3
"""After a reload, pages read again to find the rows that were selected on them."""


@dataclass(frozen=True)
class SelectionMemo:
    """The selected rows that were cached before a reload, by id, and their pages."""

    ids: frozenset[int] = frozenset()
    pages: frozenset[int] = frozenset()


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

    # ------------------------------------------------------------ selection

    def selected_ranges(self) -> list[tuple[int, int]]:
        """Selected rows as sorted, disjoint ``(first, last)`` ranges (no index per row)."""
        selection = self.selectionModel().selection()
        spans = sorted((r.top(), r.bottom()) for r in map(selection.at, range(selection.size())))
        merged: list[tuple[int, int]] = []
        for first, last in spans:
            if merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        return merged

    def selected_rows(self) -> list[BoardRow]:
        """The selected rows, top to bottom; pages not cached are read.

        Raises:
            Exception: whatever the model's ``fetch`` raises.
        """
        rows: list[BoardRow] = []
        for first, last in self.selected_ranges():
            rows.extend(self._board.rows_in(first, last))
        return rows

    def remember_selection(self) -> SelectionMemo:
        """Note the selected rows that are cached (nothing is read)."""
        ranges = self.selected_ranges()
        starts = [first for first, _last in ranges]
        ids: set[int] = set()
        pages: set[int] = set()
        for position, row in self._board.rows_loaded():
            at = bisect.bisect_right(starts, position) - 1
            if at >= 0 and position <= ranges[at][1]:
                ids.add(row.ordered_test_id)
                pages.add(position // self._board.page_size)
        return SelectionMemo(frozenset(ids), frozenset(pages))

    def restore_selection(self, memo: SelectionMemo) -> None:
        """Select the remembered rows again wherever they are now among the cached pages."""
        if not memo.ids:
            return
        # The rows most likely stayed near where they were: read those pages (a few) again.
        for number in sorted(memo.pages)[:RESELECT_PAGES]:
            self._board.row_at(number * self._board.page_size)
        found = [p for p, row in self._board.rows_loaded() if row.ordered_test_id in memo.ids]
        selection = QItemSelection()
        last_column = self._board.columnCount() - 1
        for first, last in _runs(found):
            selection.select(self._board.index(first, 0), self._board.index(last, last_column))
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        self.selectionModel().select(selection, flags)


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Sorted positions as ``(first, last)`` runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for position in positions:
        if runs and position == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    return runs
