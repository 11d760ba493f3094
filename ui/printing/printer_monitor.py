"""Background printing for the app: the spooler timer and the label printer's status.

Both run their work through ``run_in_background`` and never overlap with themselves: a
tick while the previous job still runs (a printer timing out) is skipped, and a change
announced meanwhile runs once more after it.

With the app's change feed (``ui/live.py``) they read the database only when they must,
so an idle station stays quiet: the spooler passes every 5 s only while jobs wait for a
retry, else once a minute and whenever print jobs change; the status bar asks the
printer itself every 15 s (no SQL) and re-reads the queue counts when print jobs change
and once a minute. Without a feed both poll the database as before.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from labdesk.domain.clock import Clock
from labdesk.kernel.changes import ChangeBatch, Topic
from labdesk.ports import UowFactory
from labdesk.printing.dto import LabelPrinterState, PrintSetup, SpoolReport
from labdesk.printing.spooler import process_due_jobs
from labdesk.printing.views import label_printer_state, printer_status
from ui.context import AppContext
from ui.status_bar import StatusBar
from ui.tasks import run_in_background
from ui.widgets.errors import error_text

if TYPE_CHECKING:
    from ui.live import LiveUpdates

logger = logging.getLogger(__name__)

SPOOL_INTERVAL_MS = 5_000
"""Spooler passes while jobs wait for a retry (and always without a change feed)."""
IDLE_SPOOL_INTERVAL_MS = 60_000
"""With a change feed and no job waiting: a pass a minute (jobs left by a crashed app)."""
STATUS_INTERVAL_MS = 15_000
"""How often the label printer is asked how it is."""
COUNTS_EVERY_S = 60.0
"""With a change feed: the queue counts are re-read this often even without a change."""
_CONTEXT = "LabelPrinterMonitor"


class _Repeating(QObject):
    """A timer that runs one background job per tick, skipping ticks while one runs."""

    def __init__(self, interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.busy = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.run_now)
        self._again = False

    def request(self) -> None:
        """Run now, or once more right after the job that is running."""
        if self.busy:
            self._again = True
        else:
            self.run_now()

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
        if self._again and self.timer.isActive():
            self._again = False
            self.run_now()

    def _watch_print_jobs(self, live: LiveUpdates | None) -> None:
        if live is not None:
            live.changes.connect(self._changed)

    def _changed(self, batch: ChangeBatch) -> None:
        if batch.touches((Topic.PRINT_JOBS,)) and self.timer.isActive():
            self._print_jobs_changed()
            self.request()

    def _print_jobs_changed(self) -> None:
        """Note a print-job change before the job it asks for runs."""


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
        *,
        live: LiveUpdates | None = None,
        idle_interval_ms: int = IDLE_SPOOL_INTERVAL_MS,
    ) -> None:
        super().__init__(interval_ms, parent)
        self._uows, self._clock, self._setup = uows, clock, setup
        self._fast_ms = interval_ms
        # With a feed, new jobs are announced: pass slowly unless a retry is waiting.
        self._idle_ms = max(interval_ms, idle_interval_ms) if live is not None else interval_ms
        self.timer.setInterval(self._idle_ms)
        self._watch_print_jobs(live)

    def _start(self) -> None:
        uows, clock, setup = self._uows, self._clock, self._setup
        run_in_background(
            lambda: process_due_jobs(uows, clock, setup.opener, station_code=setup.station_code),
            self._done,
            self._error,
            owner=self,
        )

    def _done(self, report: SpoolReport) -> None:
        if report.handled:
            # Jobs put back for a retry are due within seconds: pass often until none is.
            self._set_interval(self._fast_ms if report.retrying else self._idle_ms)
        self._finished()
        if report.handled:
            self.spooled.emit(report)

    def _error(self, error: Exception) -> None:
        self._set_interval(self._fast_ms)  # the database is away: try again soon
        self._finished()
        logger.warning("spooler pass failed: %s", error)
        self.failed.emit(error_text(error))

    def _set_interval(self, interval_ms: int) -> None:
        if self.timer.interval() != interval_ms:
            self.timer.setInterval(interval_ms)


class LabelPrinterMonitor(_Repeating):
    """Polls the station's label printer and queue; emits a status-bar line and its health."""

    state_changed = Signal(str, bool)

    def __init__(
        self,
        uows: UowFactory,
        setup: PrintSetup,
        parent: QObject | None = None,
        interval_ms: int = STATUS_INTERVAL_MS,
        *,
        live: LiveUpdates | None = None,
        counts_every_s: float = COUNTS_EVERY_S,
    ) -> None:
        super().__init__(interval_ms, parent)
        self._uows, self._setup = uows, setup
        self._live = live is not None
        self._counts_every_s = counts_every_s
        self._state: LabelPrinterState | None = None
        """The last full state (printer and queue counts)."""
        self._counts_at = 0.0
        self._counts_stale = True
        self._watch_print_jobs(live)

    def _print_jobs_changed(self) -> None:
        self._counts_stale = True

    def _needs_counts(self) -> bool:
        if not self._live or self._state is None or self._counts_stale:
            return True
        return time.monotonic() - self._counts_at >= self._counts_every_s

    def _start(self) -> None:
        uows, setup, opener = self._uows, self._setup, self._setup.opener
        if self._needs_counts():
            self._counts_stale = False
            self._counts_at = time.monotonic()
            run_in_background(
                lambda: label_printer_state(uows, setup), self._done, self._error, owner=self
            )
            return
        state = self._state
        assert state is not None
        # Only the printer's own answer: the counts have not changed since they were read.
        run_in_background(
            lambda: dataclasses.replace(state, printer=printer_status(opener, state.printer.uri)),
            self._done,
            self._error,
            owner=self,
        )

    def _done(self, state: LabelPrinterState) -> None:
        self._state = state
        self._finished()
        self.state_changed.emit(status_text(state), state.printer.ready and not state.unconfirmed)

    def _error(self, error: Exception) -> None:
        self._counts_stale = True
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
    monitor = LabelPrinterMonitor(context.uow, context.print_setup, status_bar, live=context.live)
    monitor.state_changed.connect(status_bar.set_printer_state)
    monitor.start()
    return monitor


def start_spooler(context: AppContext, parent: QObject) -> BackgroundSpooler | None:
    """Run the spooler for this station in the background when printing is set up."""
    if context.print_setup is None:
        return None
    spooler = BackgroundSpooler(
        context.uow, context.clock, context.print_setup, parent, live=context.live
    )
    spooler.start()
    return spooler
