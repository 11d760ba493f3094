"""Wiring the application-wide scanner into the main window's pages.

Pages that want scans define ``attach_scanner(router)``; the station page also takes
wristband scans from any page (``handle_patient_scan``), after it is brought forward.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtWidgets import QWidget

from labdesk.config import Config
from ui.navigation import PageId
from ui.scanner import ScannerInput, ScannerSettings, ScanRouter


def install_scanner(
    window: QWidget,
    config: Config,
    pages: Mapping[PageId, QWidget],
    show_page: Callable[[PageId], None],
) -> ScanRouter:
    """Watch the keyboard for scans while ``window`` lives, and route them to ``pages``."""
    scanner = ScannerInput(ScannerSettings.from_config(config), window)
    scanner.install()
    router = ScanRouter(scanner, window)
    for page in pages.values():
        attach = getattr(page, "attach_scanner", None)
        if callable(attach):
            attach(router)
    station = pages.get(PageId.STATION)
    handle = getattr(station, "handle_patient_scan", None)
    if callable(handle):

        def open_patient(text: str) -> None:
            show_page(PageId.STATION)
            handle(text)

        router.patient_scanned.connect(open_patient)
    return router
