"""Role pages of the main window."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from labdesk.kernel.dto import SignedInUser
from ui.admin.page import AdminPage
from ui.context import AppContext
from ui.custody.courier_page import CourierPage
from ui.custody.receiving_page import LabReceivingPage
from ui.navigation import PageId
from ui.results.page import ResultsPage
from ui.results.worklist_page import ResultWorklistPage
from ui.station.page import StationPage


def build_page(
    page: PageId, context: AppContext, user: SignedInUser, parent: QWidget | None = None
) -> QWidget:
    """Create the widget for ``page``, working on behalf of ``user``."""
    widget = _build(page, context, user, parent)
    if context.mode is not None and page in NEEDS_SERVER:
        # Imported only for PostgreSQL stations (a SQLite install has no downtime mode).
        from ui.downtime.offline_page import OfflineGate

        return OfflineGate(widget, NEEDS_SERVER[page], context.mode, parent)
    return widget


NEEDS_SERVER: dict[PageId, str] = {
    PageId.RESULTS: "The results board across the clinic",
    PageId.RESULT_WORKLIST: "The result worklist",
    PageId.ADMIN: "Administration",
}
"""Pages that cannot work from the station's replica (issue 12 item 3)."""


def _build(
    page: PageId, context: AppContext, user: SignedInUser, parent: QWidget | None
) -> QWidget:
    match page:
        case PageId.STATION:
            return StationPage(context, user, parent)
        case PageId.COURIER:
            return CourierPage(context, user, parent)
        case PageId.LAB_RECEIVING:
            return LabReceivingPage(context, user, parent)
        case PageId.RESULTS:
            return ResultsPage(context, user, parent)
        case PageId.RESULT_WORKLIST:
            return ResultWorklistPage(context, user, parent)
        case PageId.ADMIN:
            return AdminPage(context, user, parent)
