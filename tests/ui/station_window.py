"""The station in the main window, as the UI flow tests drive it, and their shared steps.

One place for what every station flow test needs: the window at a station's size with its
sounds off, the wedge scanner, waiting for the encounter, and an EHR-style order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.kernel.dto import SignedInUser
from labdesk.station.dto import EncounterView
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.navigation import PageId
from ui.station.page import StationPage


def station_of(window: MainWindow) -> StationPage:
    """The window's station page."""
    page = window.page(PageId.STATION)
    assert isinstance(page, StationPage)
    return page


def open_station_window(
    qtbot: QtBot, context: AppContext, user: SignedInUser, *, height: int = 800
) -> MainWindow:
    """The main window shown at a station's size, its alarms silent (tests must not beep)."""
    window = MainWindow(context, user)
    qtbot.addWidget(window)
    window.resize(1280, height)
    window.show()
    qtbot.waitExposed(window)
    page = station_of(window)
    page.feedback.audible = False
    page.find_step.timed_panel.feedback.audible = False
    return window


def scan(qtbot: QtBot, text: str) -> None:
    """A wedge scanner: the keys of ``text`` back to back, then Enter, into the focus."""
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    for ch in text:
        QTest.keyClick(target, ch)
    QTest.keyClick(target, Qt.Key.Key_Return)


def wait_view(qtbot: QtBot, page: StationPage, ok: Callable[[EncounterView], bool]) -> None:
    """Wait until the controller is idle and its encounter satisfies ``ok``."""
    try:
        qtbot.waitUntil(
            lambda: (
                page.controller.encounter is not None
                and not page.controller.busy
                and ok(page.controller.encounter)
            ),
            timeout=5000,
        )
    except Exception as exc:
        view = page.controller.encounter
        state = [(s.accession, s.status.value) for s in view.specimens] if view else None
        raise AssertionError(f"screen says {page.message.text()!r}; specimens {state}") from exc


def place_order(
    core: Core, patient_id: int, codes: tuple[str, ...], number: str, *, minutes_ago: int = 20
) -> None:
    """An EHR order (HL7, routine, Dr. Sam Patel) of ``codes`` for the patient."""
    at = core.clock.now() - timedelta(minutes=minutes_ago)
    with core.uow() as uow:
        order = Order(
            placer_order_number=number,
            patient_id=patient_id,
            ordering_provider="Dr. Sam Patel",
            priority=Priority.ROUTINE,
            source=OrderSource.HL7,
            ordered_at=at,
            created_at=at,
        )
        uow.orders.add(order)
        uow.orders.flush()
        assert order.id is not None
        for code in codes:
            uow.orders.add_test(OrderedTest(order_id=order.id, test_code=code))
        uow.commit()
