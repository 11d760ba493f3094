"""Role pages of the main window."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from labdesk.services.dto import SignedInUser
from ui.context import AppContext
from ui.navigation import PageId
from ui.pages.admin import AdminPage
from ui.pages.courier import CourierPage
from ui.pages.lab_receiving import LabReceivingPage
from ui.pages.result_worklist import ResultWorklistPage
from ui.pages.results import ResultsPage
from ui.pages.station import StationPage


def build_page(
    page: PageId, context: AppContext, user: SignedInUser, parent: QWidget | None = None
) -> QWidget:
    """Create the widget for ``page``, working on behalf of ``user``."""
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
