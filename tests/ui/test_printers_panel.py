"""The Admin page's Printers tab, the status-bar printer monitor and the background spooler."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

import ui.printing.printers_panel as panel_module
from labdesk.bootstrap import Core
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.order import TestStatus as OrderedTestStatus
from labdesk.domain.people import Site, Station
from labdesk.domain.printing import PrintJobStatus
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.printing.commands import PrintSpecimenLabels
from labdesk.printing.dto import PrintJobRow, PrintSetup, SpoolReport
from labdesk.printing.spooler import BACKOFF_BASE
from labdesk.station.accession import issue_accession
from printers.errors import PrinterOffline
from printers.status import PrinterStatus
from ui.admin.page import AdminPage
from ui.context import AppContext
from ui.printing.printer_monitor import BackgroundSpooler, LabelPrinterMonitor
from ui.printing.printers_panel import PrintersPanel
from ui.status_bar import StatusBar
from ui.widgets.message_label import ERROR_COLOUR

WAIT_MS = 10_000


def _register_station(core: Core, label_printer_uri: str) -> list[str]:
    """Site and station DRAW-2 with a label printer, and two collected specimens."""
    clock = core.clock
    with core.uow() as uow:
        site = Site(code="CLINIC", name="Clinic", timezone="America/New_York")
        uow.people.add(site)
        uow.people.flush()
        assert site.id is not None
        station = Station(
            code="DRAW-2", name="Chair 2", site_id=site.id, label_printer_uri=label_printer_uri
        )
        uow.people.add(station)
        patient = uow.patients.by_mrn("M100003")
        maria = uow.people.user_by_username("maria")
        assert patient is not None
        assert patient.id is not None
        assert maria is not None
        assert maria.id is not None
        order = Order(
            placer_order_number="ORD-UI-1",
            patient_id=patient.id,
            ordering_provider="Dr. Sam Patel",
            priority=Priority.ROUTINE,
            source=OrderSource.MANUAL,
            ordered_at=clock.now(),
            created_at=clock.now(),
        )
        uow.orders.add(order)
        uow.orders.flush()
        assert order.id is not None
        accessions = []
        for container, test in (("LAV", "CBC"), ("SST", "CMP")):
            specimen = Specimen(
                accession=issue_accession(uow, clock),
                patient_id=patient.id,
                container_code=container,
                site_id=site.id,
                status=SpecimenStatus.COLLECTED,
                collected_at=clock.now(),
                collected_by_id=maria.id,
                created_at=clock.now(),
            )
            uow.specimens.add(specimen)
            uow.specimens.flush()
            uow.orders.add_test(
                OrderedTest(
                    order_id=order.id,
                    test_code=test,
                    status=OrderedTestStatus.COLLECTED,
                    specimen_id=specimen.id,
                )
            )
            accessions.append(specimen.accession)
        uow.commit()
    return accessions


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def printer_dir(tmp_path: Path) -> Path:
    return tmp_path / "labels"


@pytest.fixture
def accessions(core: Core, printer_dir: Path) -> list[str]:
    return _register_station(core, printer_dir.as_uri())


@pytest.fixture
def admin(user_named: Callable[[str], SignedInUser]) -> SignedInUser:
    return user_named("alex")


@pytest.fixture
def panel(
    qtbot: QtBot, app_context: AppContext, admin: SignedInUser, accessions: list[str]
) -> PrintersPanel:
    widget = PrintersPanel(app_context, admin)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.label_edit.text() != "", timeout=WAIT_MS)
    return widget


def _print(
    core: Core,
    actor: SignedInUser,
    setup: PrintSetup,
    accessions: list[str],
    *,
    printer_uri: str | None = None,
) -> list[PrintJobRow]:
    """Print labels as a screen does: the command through the core's bus."""
    command = PrintSpecimenLabels(
        setup=setup, accessions=tuple(accessions), printer_uri=printer_uri
    )
    return core.bus.handle(command, actor)


def _queue_rows(qtbot: QtBot, widget: PrintersPanel, count: int) -> None:
    widget.reload_queue()
    qtbot.waitUntil(lambda: widget.model.rowCount() == count, timeout=WAIT_MS)


def _select(widget: PrintersPanel, job_id: int) -> None:
    proxy = widget.table.model()
    for row in range(proxy.rowCount()):
        if proxy.index(row, 0).data() == str(job_id):
            widget.table.selectRow(row)
            return
    raise AssertionError(f"job {job_id} is not listed")


def test_panel_shows_the_station_printers_and_saves_checked_addresses(
    qtbot: QtBot, panel: PrintersPanel, core: Core, printer_dir: Path
) -> None:
    assert panel.label_edit.text() == printer_dir.as_uri()
    assert not panel.override_label.isVisible()

    panel.label_edit.setText("tcp://")
    with qtbot.waitSignal(panel.action_finished, timeout=WAIT_MS):
        panel.save_button.click()
    assert panel.message.is_error
    assert "Invalid printer address 'tcp://'" in panel.message.text()

    panel.label_edit.setText("tcp://10.0.0.40:9100")
    panel.document_edit.setText("pdf:///srv/documents")
    with qtbot.waitSignal(panel.action_finished, timeout=WAIT_MS):
        panel.save_button.click()
    assert not panel.message.is_error
    assert "saved for station DRAW-2" in panel.message.text()
    with core.uow() as uow:
        station = uow.people.station_by_code("DRAW-2")
        assert station is not None
        assert station.label_printer_uri == "tcp://10.0.0.40:9100"


def test_test_print_prints_a_label_and_lists_the_job(
    qtbot: QtBot, panel: PrintersPanel, printer_dir: Path, qtmodeltester: ModelTester
) -> None:
    with qtbot.waitSignal(panel.action_finished, timeout=WAIT_MS):
        panel.test_button.click()
    assert "Test label printed" in panel.message.text()
    assert "Printer: Ready" in panel.message.text()
    assert len(list(printer_dir.glob("*.png"))) == 1
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=WAIT_MS)
    qtmodeltester.check(panel.model)
    assert panel.model.index(0, 2).data() == "test label"
    assert panel.model.index(0, 3).data() == "Printed"


def test_test_print_to_a_dead_printer_says_so(
    qtbot: QtBot, panel: PrintersPanel, closed_port: int
) -> None:
    panel.label_edit.setText(f"tcp://127.0.0.1:{closed_port}")
    with qtbot.waitSignal(panel.action_finished, timeout=WAIT_MS):
        panel.test_button.click()
    assert panel.message.is_error
    assert "did not print" in panel.message.text()
    assert "Cannot connect" in panel.message.text()


def test_queue_shows_waiting_and_reprint_asks_for_a_reason(
    qtbot: QtBot,
    panel: PrintersPanel,
    admin: SignedInUser,
    app_context: AppContext,
    core: Core,
    accessions: list[str],
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    qtmodeltester: ModelTester,
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    setup = app_context.print_setup
    assert setup is not None
    ma = admin
    offline = f"tcp://127.0.0.1:{closed_port}"
    (printed,) = _print(core, ma, setup, accessions[:1])
    (waiting,) = _print(core, ma, setup, accessions[1:2], printer_uri=offline)
    assert (printed.status, waiting.status) == (PrintJobStatus.DONE, PrintJobStatus.QUEUED)
    _queue_rows(qtbot, panel, 2)
    qtmodeltester.check(panel.model)
    statuses = {panel.model.index(r, 2).data(): panel.model.index(r, 3).data() for r in (0, 1)}
    assert statuses == {accessions[0]: "Printed", accessions[1]: "Waiting for printer"}

    _select(panel, waiting.id)
    assert not panel.reprint_button.isEnabled()  # it has not printed yet
    _select(panel, printed.id)
    assert panel.reprint_button.isEnabled()

    monkeypatch.setattr(panel_module, "ask_reason", lambda *_args: None)
    panel.reprint_button.click()  # cancelled: nothing happens
    asked: list[str] = []

    def ask(_parent: QWidget, _title: str, prompt: str) -> str:
        asked.append(prompt)
        return "label smudged"

    monkeypatch.setattr(panel_module, "ask_reason", ask)
    with qtbot.waitSignal(panel.action_finished, timeout=WAIT_MS):
        panel.reprint_button.click()
    assert accessions[0] in asked[0]
    assert "Reprint printed" in panel.message.text()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=WAIT_MS)
    assert f"reprint of {printed.id}" in panel.model.index(0, 2).data()

    panel.resize(1280, 800)
    screenshot(panel, "admin_printers_tab")


def test_unconfirmed_jobs_are_red_and_can_be_checked(
    qtbot: QtBot,
    panel: PrintersPanel,
    admin: SignedInUser,
    core: Core,
    accessions: list[str],
    closed_port: int,
) -> None:
    setup = panel.setup
    (row,) = _print(
        core, admin, setup, accessions[:1], printer_uri=f"tcp://127.0.0.1:{closed_port}"
    )
    assert isinstance(core.clock, FixedClock)
    core.clock.advance(timedelta(minutes=1))
    with core.uow() as uow:  # claimed by a worker that died before sending
        assert uow.print_queue.claim(row.id, core.clock.now()) is not None
        uow.commit()
    core.clock.advance(timedelta(minutes=5))
    _queue_rows(qtbot, panel, 1)
    assert panel.model.index(0, 3).data() == "Unconfirmed — check the tube"
    assert panel.model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole) == ERROR_COLOUR
    _select(panel, row.id)
    assert panel.not_printed_button.isEnabled()
    with qtbot.waitSignal(panel.action_finished, timeout=WAIT_MS):
        panel.not_printed_button.click()
    assert "marked as not printed" in panel.message.text()
    qtbot.waitUntil(lambda: panel.model.index(0, 3).data() == "Failed", timeout=WAIT_MS)


def test_admin_page_has_a_printers_tab(
    qtbot: QtBot,
    app_context: AppContext,
    admin: SignedInUser,
    accessions: list[str],
    screenshot: Callable[[QWidget, str], Path],
) -> None:
    page = AdminPage(app_context, admin)
    qtbot.addWidget(page)
    titles = [page.tabs.tabText(i) for i in range(page.tabs.count())]
    assert "Printers" in titles
    page.tabs.setCurrentWidget(page.printers)
    page.resize(1280, 800)
    page.show()
    qtbot.waitUntil(lambda: page.printers.label_edit.text() != "", timeout=WAIT_MS)
    screenshot(page, "admin_printers")


@pytest.mark.parametrize("ready", [True, False], ids=["ready", "dead"])
def test_status_bar_shows_the_label_printer_state(
    qtbot: QtBot,
    app_context: AppContext,
    admin: SignedInUser,
    core: Core,
    closed_port: int,
    accessions: list[str],
    ready: bool,
) -> None:
    if not ready:
        with core.uow() as uow:
            station = uow.people.station_by_code("DRAW-2")
            assert station is not None
            station.label_printer_uri = f"tcp://127.0.0.1:{closed_port}?timeout=0.5"
            uow.commit()
    bar = StatusBar(admin, "DRAW-2", "SQLite", "", None)
    qtbot.addWidget(bar)
    assert app_context.print_setup is not None
    monitor = LabelPrinterMonitor(app_context.uow, app_context.print_setup, bar)
    monitor.state_changed.connect(bar.set_printer_state)
    with qtbot.waitSignal(monitor.state_changed, timeout=WAIT_MS) as blocker:
        monitor.start()
    text, ok = blocker.args
    assert ok is ready
    assert bar.printer_label.text() == text
    if ready:
        assert text == "Label printer: Ready"
    else:
        assert text.startswith("Label printer: Not ready: Cannot connect")
        colour = bar.printer_label.palette().color(bar.printer_label.foregroundRole())
        assert colour == ERROR_COLOUR
    monitor.stop()


@pytest.fixture
def accessions_no_printer(core: Core) -> list[str]:
    return _register_station(core, "")


def test_status_bar_without_a_printer_is_red(
    qtbot: QtBot, app_context: AppContext, admin: SignedInUser, accessions_no_printer: list[str]
) -> None:
    assert app_context.print_setup is not None
    monitor = LabelPrinterMonitor(app_context.uow, app_context.print_setup)
    with qtbot.waitSignal(monitor.state_changed, timeout=WAIT_MS) as blocker:
        monitor.start()
    assert blocker.args == ["Label printer: not configured", False]
    monitor.stop()


class _Recovering:
    """A ZPL printer that is offline until ``online`` is set."""

    language = "zpl"

    def __init__(self) -> None:
        self.online = False
        self.jobs: list[bytes] = []

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        if not self.online:
            raise PrinterOffline("Cannot connect: offline.")
        self.jobs.append(payload)

    def status(self) -> PrinterStatus:
        return PrinterStatus.ok() if self.online else PrinterStatus.failed()


def test_background_spooler_sends_queued_jobs_when_the_printer_returns(
    qtbot: QtBot, app_context: AppContext, core: Core, admin: SignedInUser, accessions: list[str]
) -> None:
    printer = _Recovering()
    assert app_context.print_setup is not None
    setup: PrintSetup = replace(app_context.print_setup, opener=lambda _uri: printer)
    rows = _print(core, admin, setup, accessions)
    assert {r.status for r in rows} == {PrintJobStatus.QUEUED}
    spooler = BackgroundSpooler(core.uow, core.clock, setup, interval_ms=60_000)
    printer.online = True
    assert isinstance(core.clock, FixedClock)
    core.clock.advance(BACKOFF_BASE)
    with qtbot.waitSignal(spooler.spooled, timeout=WAIT_MS) as blocker:
        spooler.start()
    report: SpoolReport = blocker.args[0]
    assert sorted(report.done) == sorted(r.id for r in rows)
    assert len(printer.jobs) == 2
    spooler.stop()
