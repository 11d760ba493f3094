"""Run blocking work (database, files, printers) off the UI thread.

Shape taken from superqt's ``_qthreading.py``: a ``QRunnable`` cannot carry signals, so the
job owns a ``QObject`` that emits the outcome from the worker thread, queued to a receiver on
the main thread that calls a plain callback there (Anki's ``QueryOp`` success/failure split).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from labdesk.domain.errors import LabdeskError

logger = logging.getLogger(__name__)

T = TypeVar("T")

ErrorCallback = Callable[[Exception], None]


class _JobSignals(QObject):
    """The outcome of one job, emitted on the worker thread."""

    succeeded = Signal(object)
    failed = Signal(object)


class _Delivery(QObject):
    """Receives a job's outcome on the main thread and calls the callbacks there.

    It is a child of the application, so it cannot disappear while the job runs, and deletes
    itself after delivering. A destroyed ``owner`` (say, the main window after sign-out)
    makes it drop the outcome: the check runs on the main thread, where owners die.
    """

    def __init__(
        self, owner: QObject | None, on_done: Callable[[Any], None], on_error: ErrorCallback
    ) -> None:
        super().__init__(QCoreApplication.instance())
        self._owner = owner
        self._on_done = on_done
        self._on_error = on_error

    def _owner_gone(self) -> bool:
        return self._owner is not None and not shiboken6.isValid(self._owner)

    @Slot(object)
    def deliver_result(self, result: object) -> None:
        """Hand the job's return value to ``on_done``."""
        self.deleteLater()
        if not self._owner_gone():
            self._on_done(result)

    @Slot(object)
    def deliver_error(self, error: Exception) -> None:
        """Hand the job's exception to ``on_error``."""
        self.deleteLater()
        if not self._owner_gone():
            self._on_error(error)


class _Job(QRunnable, Generic[T]):
    """Calls ``fn`` on a pool thread and reports to its delivery object."""

    def __init__(self, fn: Callable[[], T], delivery: _Delivery) -> None:
        super().__init__()
        self._fn = fn
        self._delivery = delivery

    def run(self) -> None:
        """Run the job; never lets an exception escape into Qt's thread pool."""
        # Created here so the signals object lives and dies on this thread: deleting a
        # QObject from a thread other than its own is unsafe, and keeping it until the main
        # thread is done would race with this thread's last use of it.
        signals = _JobSignals()
        queued = Qt.ConnectionType.QueuedConnection
        signals.succeeded.connect(self._delivery.deliver_result, queued)
        signals.failed.connect(self._delivery.deliver_error, queued)
        try:
            result = self._fn()
        except LabdeskError as exc:
            signals.failed.emit(exc)
        except Exception as exc:
            # Not a user-facing failure: a bug. Log it here, where the traceback is complete.
            logger.exception("background job %r failed", self._fn)
            signals.failed.emit(exc)
        else:
            signals.succeeded.emit(result)


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
    if QCoreApplication.instance() is None:
        raise RuntimeError("run_in_background needs a QCoreApplication")
    QThreadPool.globalInstance().start(_Job(fn, _Delivery(owner, on_done, on_error)))


def wait_for_background_jobs(timeout_ms: int = 30_000) -> bool:
    """Block until running jobs finish (at exit, before closing the database).

    Returns:
        True if every job finished within ``timeout_ms``.
    """
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
