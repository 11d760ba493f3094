"""Which pages each role sees, in one table."""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import QCoreApplication

from labdesk.domain.people import Role


class PageId(Enum):
    """The main window's pages, in navigation order."""

    STATION = "station"
    COURIER = "courier"
    LAB_RECEIVING = "lab_receiving"
    RESULTS = "results"
    RESULT_WORKLIST = "result_worklist"
    ADMIN = "admin"


PAGES_BY_ROLE: dict[Role, tuple[PageId, ...]] = {
    Role.MEDICAL_ASSISTANT: (PageId.STATION,),
    Role.COURIER: (PageId.COURIER,),
    Role.LAB_RECEIVER: (PageId.LAB_RECEIVING,),
    Role.CLINICIAN: (PageId.RESULTS, PageId.RESULT_WORKLIST),
    Role.ADMIN: tuple(PageId),
}


def pages_for(role: Role, *, emergency: bool = False) -> tuple[PageId, ...]:
    """Pages shown to ``role``, in navigation order (a break-glass session adds Results)."""
    pages = PAGES_BY_ROLE[role]
    if emergency and PageId.RESULTS not in pages:
        pages = (*pages, PageId.RESULTS)
    return pages


def page_title(page: PageId) -> str:
    """Translated navigation label of ``page``."""
    # Literal strings inside translate() so pyside6-lupdate can extract them.
    titles = {
        PageId.STATION: QCoreApplication.translate("navigation", "Station"),
        PageId.COURIER: QCoreApplication.translate("navigation", "Courier"),
        PageId.LAB_RECEIVING: QCoreApplication.translate("navigation", "Lab receiving"),
        PageId.RESULTS: QCoreApplication.translate("navigation", "Results"),
        PageId.RESULT_WORKLIST: QCoreApplication.translate("navigation", "Result worklist"),
        PageId.ADMIN: QCoreApplication.translate("navigation", "Admin"),
    }
    return titles[page]


def role_label(role: Role) -> str:
    """Translated name of ``role`` for the status bar."""
    labels = {
        Role.MEDICAL_ASSISTANT: QCoreApplication.translate("navigation", "Medical assistant"),
        Role.COURIER: QCoreApplication.translate("navigation", "Courier"),
        Role.LAB_RECEIVER: QCoreApplication.translate("navigation", "Lab receiver"),
        Role.CLINICIAN: QCoreApplication.translate("navigation", "Clinician"),
        Role.ADMIN: QCoreApplication.translate("navigation", "Administrator"),
    }
    return labels[role]
