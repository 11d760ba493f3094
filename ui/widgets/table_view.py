"""A read-only, sortable table view set up the same way on every page."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from ui.widgets.table_model import SORT_ROLE, ModelIndex, RowTableModel


class _RoomyDelegate(QStyledItemDelegate):
    """Adds breathing room to fitted columns, which would otherwise put values edge to edge."""

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        """The default size, a little wider."""
        hint = super().sizeHint(option, index)
        return QSize(hint.width() + 16, hint.height())


def sorting_table_view(model: RowTableModel[Any], parent: QWidget | None = None) -> QTableView:
    """A row-selecting table over ``model`` behind a proxy that sorts on ``SORT_ROLE``.

    The view keeps the proxy (``view.model()``); ``model`` stays the caller's.
    """
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    view = QTableView(parent)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # keep the service's order until asked
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setItemDelegate(_RoomyDelegate(view))
    rows = view.verticalHeader()
    rows.hide()
    rows.setDefaultSectionSize(view.fontMetrics().height() + 10)  # compact, still clickable
    header = view.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setStretchLastSection(not any(c.stretch for c in model.columns))
    for section, column in enumerate(model.columns):
        mode = (
            QHeaderView.ResizeMode.Stretch
            if column.stretch
            else QHeaderView.ResizeMode.ResizeToContents
        )
        header.setSectionResizeMode(section, mode)
    return view
