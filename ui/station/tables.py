"""The station's table views: the shared sorting view, fitted on a sample of rows."""

from __future__ import annotations

from typing import Any

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
