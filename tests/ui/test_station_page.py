"""Station page: patient search-as-you-type runs in the background."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from labdesk.kernel.dto import SignedInUser
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.navigation import PageId
from ui.station.page import StationPage


def _names(page: StationPage) -> list[str]:
    return [page.model.row_at(row).display_name for row in range(page.model.rowCount())]


@pytest.fixture
def page(
    qtbot: QtBot, app_context: AppContext, user_named: Callable[[str], SignedInUser]
) -> StationPage:
    page = StationPage(app_context, user_named("maria"))
    qtbot.addWidget(page)
    page.show()
    return page


def _search(qtbot: QtBot, page: StationPage, text: str) -> None:
    with qtbot.waitSignal(page.results_shown, timeout=3000):
        qtbot.keyClicks(page.search_edit, text)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("smi", ["Smith, John", "Smithers, Jane"]),
        ("SMITH jo", ["Smith, John"]),
        ("o'bri", ["O'Brien, Siobhán"]),
        ("garcia", ["García López, María José"]),
        ("1980-03-04", ["O'Brien, Siobhán", "Smith, John"]),
        ("03/04/1980", ["O'Brien, Siobhán", "Smith, John"]),
        ("M100004", ["Nguyen, An"]),
    ],
    ids=["prefix", "family-given", "apostrophe", "accent", "iso-dob", "us-dob", "mrn"],
)
def test_search_as_you_type_finds_patients(
    qtbot: QtBot, page: StationPage, qtmodeltester: ModelTester, query: str, expected: list[str]
) -> None:
    _search(qtbot, page, query)
    assert sorted(_names(page)) == sorted(expected)
    qtmodeltester.check(page.model)
    qtmodeltester.check(page.table.model())


def test_typing_fast_sends_one_query(qtbot: QtBot, page: StationPage) -> None:
    shown: list[int] = []
    page.results_shown.connect(shown.append)
    _search(qtbot, page, "smithers")
    qtbot.wait(300)  # longer than the debounce: a second query would have arrived
    assert shown == [1]


def test_no_match_says_so(qtbot: QtBot, page: StationPage) -> None:
    _search(qtbot, page, "zzyzx")
    assert page.model.rowCount() == 0
    assert page.status_label.text() == "No patient matches. Check the spelling or DOB."


def test_clearing_the_box_clears_results(qtbot: QtBot, page: StationPage) -> None:
    _search(qtbot, page, "smi")
    page.search_edit.clear()
    qtbot.waitUntil(lambda: page.model.rowCount() == 0)
    assert page.status_label.text() == ""


def test_station_screenshot(
    qtbot: QtBot,
    app_context: AppContext,
    user_named: Callable[[str], SignedInUser],
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    window = MainWindow(app_context, user_named("maria"))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    station = window.page(PageId.STATION)
    assert isinstance(station, StationPage)
    _search(qtbot, station, "smi")
    station.table.selectRow(0)
    screenshot(window, "station_search")
