"""The station's table views: the shared sorting view, fitted on a sample of rows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSortFilterProxyModel
from PySide6.QtWidgets import QHeaderView, QTableView, QWidget

from ui.widgets.table_model import RowTableModel
from ui.widgets.table_view import sorting_table_view

#: Fitted columns measure this many rows, not all of them: a worklist of hundreds of tubes
#: would otherwise be measured cell by cell every time the step is shown (~100 ms).
FIT_ROWS = 40


def station_table(model: RowTableModel[Any], parent: QWidget | None = None) -> QTableView:
    """A sorting table view over ``model`` whose fitted columns measure ``FIT_ROWS`` rows."""
    view = sorting_table_view(model, parent)
    view.horizontalHeader().setResizeContentsPrecision(FIT_ROWS)
    return view


def fit_once(view: QTableView) -> None:
    """Fit columns to the current rows now, then leave them alone (long, changing lists).

    Fitted (ResizeToContents) columns are measured again on every show and every reset;
    for a list of hundreds of rows that is noticeable, so these columns become
    user-resizable after one measurement.
    """
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.resizeColumnsToContents()
    header.setStretchLastSection(True)  # the table still fills its width


def fit_to_rows(view: QTableView, model: RowTableModel[Any]) -> None:
    """Size the non-stretching columns to ``model``'s rows just set, once.

    For short lists replaced on every visit (orders, draw plan). A ResizeToContents column
    is measured again each time its page is shown and on layout passes, every cell through
    the delegate (about ten model calls a cell): showing the plan step after a scan cost
    several milliseconds. Here the widest text of each column (up to ``FIT_ROWS`` rows) is
    found with the font metrics and only that cell asks the delegate (so a swatch or the
    roomy padding is counted); the widths are then plain Interactive sizes Qt leaves alone.
    Stretching columns keep sharing the spare width.
    """
    header = view.horizontalHeader()
    proxy = view.model()
    assert isinstance(proxy, QSortFilterProxyModel)  # station_table's sorting proxy
    metrics = view.fontMetrics()
    shown = min(proxy.rowCount(), FIT_ROWS)  # in the order shown (the view may be sorted)
    rows = [proxy.mapToSource(proxy.index(r, 0)).row() for r in range(shown)]
    for section, column in enumerate(model.columns):
        if column.stretch:
            continue
        width = header.sectionSizeHint(section)
        if rows:
            texts = [column.display(model.row_at(r)) for r in rows]
            widest = max(range(len(rows)), key=lambda i: metrics.horizontalAdvance(texts[i]))
            cell = proxy.mapFromSource(model.index(rows[widest], section))
            width = max(width, view.sizeHintForIndex(cell).width())
        header.setSectionResizeMode(section, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(section, width)
