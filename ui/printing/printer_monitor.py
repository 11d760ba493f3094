"""Background printing for the app: the spooler timer and the label printer's status.

Both run their work through ``run_in_background`` and never overlap with themselves: a
tick while the previous job still runs (a printer timing out) is skipped.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from labdesk.domain.clock import Clock
from labdesk.ports import UowFactory
from labdesk.printing.dto import LabelPrinterState, PrintSetup, SpoolReport
from labdesk.printing.spooler import process_due_jobs
from labdesk.printing.views import label_printer_state
from ui.context import AppContext
from ui.status_bar import StatusBar
from ui.tasks import run_in_background
from ui.widgets.errors import error_text

logger = logging.getLogger(__name__)

SPOOL_INTERVAL_MS = 5_000
STATUS_INTERVAL_MS = 15_000
_CONTEXT = "LabelPrinterMonitor"


class _Repeating(QObject):
    """A timer that runs one background job per tick, skipping ticks while one runs."""

    def __init__(self, interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.busy = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.run_now)

    def start(self) -> None:
        """Run once now, then on every tick."""
        self.timer.start()
        self.run_now()

    def stop(self) -> None:
        """Stop ticking (a job already running still reports)."""
        self.timer.stop()

    def run_now(self) -> None:
        """Start the job unless one is running."""
        if not self.busy:
            self.busy = True
            self._start()

    def _start(self) -> None:
        raise NotImplementedError

    def _finished(self) -> None:
        self.busy = False


class BackgroundSpooler(_Repeating):
    """Sends this station's due print jobs every few seconds (retries, restarts)."""

    spooled = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        uows: UowFactory,
        clock: Clock,
        setup: PrintSetup,
        parent: QObject | None = None,
        interval_ms: int = SPOOL_INTERVAL_MS,
    ) -> None:
        super().__init__(interval_ms, parent)
        self._uows, self._clock, self._setup = uows, clock, setup

    def _start(self) -> None:
        uows, clock, setup = self._uows, self._clock, self._setup
        run_in_background(
            lambda: process_due_jobs(uows, clock, setup.opener, station_code=setup.station_code),
            self._done,
            self._error,
            owner=self,
        )

    def _done(self, report: SpoolReport) -> None:
        self._finished()
        if report.handled:
            self.spooled.emit(report)

    def _error(self, error: Exception) -> None:
        self._finished()
        logger.warning("spooler pass failed: %s", error)
        self.failed.emit(error_text(error))


class LabelPrinterMonitor(_Repeating):
    """Polls the station's label printer and queue; emits a status-bar line and its health."""

    state_changed = Signal(str, bool)

    def __init__(
        self,
        uows: UowFactory,
        setup: PrintSetup,
        parent: QObject | None = None,
        interval_ms: int = STATUS_INTERVAL_MS,
    ) -> None:
        super().__init__(interval_ms, parent)
        self._uows, self._setup = uows, setup

    def _start(self) -> None:
        uows, setup = self._uows, self._setup
        run_in_background(
            lambda: label_printer_state(uows, setup), self._done, self._error, owner=self
        )

    def _done(self, state: LabelPrinterState) -> None:
        self._finished()
        self.state_changed.emit(status_text(state), state.printer.ready and not state.unconfirmed)

    def _error(self, error: Exception) -> None:
        self._finished()
        text = QCoreApplication.translate(_CONTEXT, "Label printer: unknown ({error})")
        self.state_changed.emit(text.format(error=error_text(error)), False)


def status_text(state: LabelPrinterState) -> str:
    """``Label printer: Ready · 2 waiting · 1 unconfirmed``."""
    tr = QCoreApplication.translate
    if not state.printer.uri.strip():
        return tr(_CONTEXT, "Label printer: not configured")
    parts = [tr(_CONTEXT, "Label printer: {summary}").format(summary=state.printer.summary)]
    if state.queued:
        parts.append(tr(_CONTEXT, "{n} waiting").format(n=state.queued))
    if state.unconfirmed:
        parts.append(tr(_CONTEXT, "{n} unconfirmed").format(n=state.unconfirmed))
    return " · ".join(parts)


def watch_label_printer(context: AppContext, status_bar: StatusBar) -> LabelPrinterMonitor | None:
    """Poll the label printer into ``status_bar`` (owned by it) when printing is set up."""
    if context.print_setup is None:
        return None
    monitor = LabelPrinterMonitor(context.uow, context.print_setup, status_bar)
    monitor.state_changed.connect(status_bar.set_printer_state)
    monitor.start()
    return monitor


def start_spooler(context: AppContext, parent: QObject) -> BackgroundSpooler | None:
    """Run the spooler for this station in the background when printing is set up."""
    if context.print_setup is None:
        return None
    spooler = BackgroundSpooler(context.uow, context.clock, context.print_setup, parent)
    spooler.start()
    return spooler
