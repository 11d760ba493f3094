"""Run blocking work (database, files, printers) off the UI thread.

Shape taken from superqt's ``_qthreading.py``: a ``QRunnable`` cannot carry signals, so each
job owns a ``QObject`` that emits the outcome from the worker thread; a receiver living on the
main thread turns it into a plain callback there (Anki's ``QueryOp`` success/failure split).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from labdesk.domain.errors import LabdeskError

logger = logging.getLogger(__name__)

T = TypeVar("T")

ErrorCallback = Callable[[Exception], None]


class _JobSignals(QObject):
    """Emitted from the worker thread; delivered queued to the main thread."""

    succeeded = Signal(object)
    failed = Signal(object)


class _Job(QRunnable, Generic[T]):
    """Calls ``fn`` on a pool thread and reports through its signals object."""

    def __init__(self, fn: Callable[[], T]) -> None:
        super().__init__()
        self._fn = fn
        self.signals = _JobSignals()

    def run(self) -> None:
        """Run the job; never lets an exception escape into Qt's thread pool."""
        try:
            result = self._fn()
        except LabdeskError as exc:
            self.signals.failed.emit(exc)
        except Exception as exc:
            # Not a user-facing failure: a bug. Log it here, where the traceback is complete.
            logger.exception("background job %r failed", self._fn)
            self.signals.failed.emit(exc)
        else:
            self.signals.succeeded.emit(result)


class _Delivery(QObject, Generic[T]):
    """Lives on the main thread and calls the callbacks there, then deletes itself.

    It is parented to the job's owner (or the application), which keeps the Python object
    alive until delivery, and drops the callbacks silently if the owner is destroyed first
    (e.g. the main window closed by sign-out while a search was running).
    """

    def __init__(
        self,
        parent: QObject,
        signals: _JobSignals,
        on_done: Callable[[T], None],
        on_error: ErrorCallback,
    ) -> None:
        super().__init__(parent)
        # Holding the signals object here means it is released on the main thread, its home,
        # not on the pool thread when Qt deletes the finished runnable.
        self._signals = signals
        self._on_done = on_done
        self._on_error = on_error
        signals.succeeded.connect(self.deliver_result, Qt.ConnectionType.QueuedConnection)
        signals.failed.connect(self.deliver_error, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def deliver_result(self, result: T) -> None:
        """Hand the job's return value to ``on_done``."""
        self.deleteLater()
        self._on_done(result)

    @Slot(object)
    def deliver_error(self, error: Exception) -> None:
        """Hand the job's exception to ``on_error``."""
        self.deleteLater()
        self._on_error(error)


def run_in_background(
    fn: Callable[[], T],
    on_done: Callable[[T], None],
    on_error: ErrorCallback,
    *,
    owner: QObject | None = None,
) -> None:
    """Run ``fn()`` on the global thread pool; call back on the main thread.

    Call this from the main thread. ``fn`` must open its own unit of work (Sessions are not
    thread-safe) and return DTOs, never ORM objects.

    Args:
        fn: the blocking work.
        on_done: called with ``fn``'s return value.
        on_error: called with the exception ``fn`` raised: a ``LabdeskError`` for expected
            failures, anything else is a bug (already logged with its traceback).
        owner: when given, the callbacks are dropped if ``owner`` is destroyed first.
    """
    parent = owner if owner is not None else QCoreApplication.instance()
    if parent is None:
        raise RuntimeError("run_in_background needs a QCoreApplication")
    job = _Job(fn)
    _Delivery(parent, job.signals, on_done, on_error)
    QThreadPool.globalInstance().start(job)


def wait_for_background_jobs(timeout_ms: int = 30_000) -> bool:
    """Block until running jobs finish (at exit, before closing the database).

    Returns:
        True if every job finished within ``timeout_ms``.
    """
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
