"""Admin → Printers refuses a bad address and says why, within its width (issue 11 item 7)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from labdesk.bootstrap import Core
from labdesk.domain.people import Site, Station
from labdesk.kernel.dto import SignedInUser
from ui.admin.page import AdminPage
from ui.context import AppContext
from ui.printing.printers_panel import PrintersPanel
from ui.tasks import wait_for_background_jobs
from ui.widgets.message_view import MessageView

WAIT_MS = 10_000
WIDTH, HEIGHT = 1280, 800
STORED = "tcp://192.0.2.10:9100"
UNBREAKABLE = "tcp://" + "zebra" * 60 + ":99999"  # a pasted blob: no space or hyphen in it


@pytest.fixture
def page(
    qtbot: QtBot, core: Core, app_context: AppContext, user_named: Callable[[str], SignedInUser]
) -> Iterator[AdminPage]:
    """The Admin page on its Printers tab at 1280x800; station DRAW-2 prints to ``STORED``."""
    with core.uow() as uow:
        site = Site(code="CLINIC", name="Clinic", timezone="America/New_York")
        uow.people.add(site)
        uow.people.flush()
        assert site.id is not None
        uow.people.add(
            Station(code="DRAW-2", name="Chair 2", site_id=site.id, label_printer_uri=STORED)
        )
        uow.commit()
    page = AdminPage(app_context, user_named("alex"))
    qtbot.addWidget(page)
    page.tabs.setCurrentWidget(page.printers)
    page.resize(WIDTH, HEIGHT)
    page.show()
    qtbot.waitUntil(lambda: page.printers.label_edit.text() == STORED, timeout=WAIT_MS)
    yield page
    # The page's tabs load in the background: once no job is left, delete it here, on the
    # main thread, instead of whenever a garbage collection runs (maybe on a pool thread).
    wait_for_background_jobs()
    shiboken6.delete(page)


def _save(qtbot: QtBot, panel: PrintersPanel, label_uri: str) -> None:
    panel.label_edit.setText(label_uri)
    with qtbot.waitSignal(panel.action_finished, timeout=WAIT_MS):
        panel.save_button.click()
    qtbot.wait(20)  # let the layout settle before measuring


def _stored(core: Core) -> str:
    with core.uow() as uow:
        station = uow.people.station_by_code("DRAW-2")
        assert station is not None
        return station.label_printer_uri


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("tcp://;rm -rf /:99999", "';rm -rf ' is not a valid host name"),
        ("tcp://192.0.2.10:99999", "port 99999 is out of range: use 1–65535"),
        ("cups://bad name", "'bad name' is not a valid CUPS queue name"),
    ],
    ids=["injection", "port", "cups-queue"],
)
def test_a_bad_address_is_not_saved_and_the_panel_says_why(
    qtbot: QtBot, page: AdminPage, core: Core, uri: str, problem: str
) -> None:
    panel = page.printers
    _save(qtbot, panel, uri)
    assert panel.message.is_error
    assert f"Invalid printer address '{uri}': {problem}" in panel.message.text()
    assert "e.g. " in panel.message.text()
    assert _stored(core) == STORED


def test_a_long_error_wraps_inside_the_panel(
    qtbot: QtBot, page: AdminPage, core: Core, screenshot: Callable[[QWidget, str], Path]
) -> None:
    panel = page.printers
    _save(qtbot, panel, UNBREAKABLE)
    assert panel.message.is_error
    assert _stored(core) == STORED
    # The page keeps its size: the message neither widens it nor asks for more width.
    assert page.width() == WIDTH
    assert page.minimumSizeHint().width() <= WIDTH
    message = panel.message
    assert message.geometry().right() <= panel.contentsRect().right()
    # All of the text is laid out within the message's own box: wrapped, not cut off.
    document = message.document()
    assert document.size().width() <= message.viewport().width()
    assert document.size().height() <= message.viewport().height()
    assert document.firstBlock().layout().lineCount() >= 3  # the 300-letter host: 2+
    assert UNBREAKABLE in message.text()
    screenshot(page, "admin_printers_bad_address")


def test_the_message_view_shows_markup_as_text(qtbot: QtBot) -> None:
    view = MessageView()
    qtbot.addWidget(view)
    view.resize(400, 10)
    view.show()
    assert view.maximumHeight() == 0  # empty: takes no room, like an empty label
    view.setText("<b>tcp://printer</b>")
    assert view.text() == "<b>tcp://printer</b>"
    view.show_error("Invalid printer address '<img src=x>'.")
    assert view.text() == "Invalid printer address '<img src=x>'."
    assert view.is_error
    qtbot.waitUntil(lambda: view.maximumHeight() > 0)  # as tall as its line
    view.show_info("")
    assert not view.is_error
    qtbot.waitUntil(lambda: view.maximumHeight() == 0)
