"""Run blocking work (database, files, printers) off the UI thread.

The shape is superqt's ``_qthreading.py`` (a ``QRunnable`` on the global pool reporting to
a ``QObject``) with Anki's ``QueryOp`` success/failure callbacks, called on the main thread.

Two thread rules shape the details; breaking either crashed the test suite about once in
150 runs:

* A pool thread must never drop the last Python reference to anything that can reach a
  QObject (the job's closure usually captures a widget): the widget would be destroyed on
  that thread. The receiver, on the main thread, holds those references and releases them.
* The job reports by posting a queued call to the receiver, not by emitting a signal from
  a per-job signals object: with a sender dying on the pool thread while the receiver was
  deleted on the main thread, PySide looked up ``disconnectNotify`` on a half-freed wrapper.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QMetaObject, QObject, QRunnable, Qt, QThreadPool, Slot

from labdesk.domain.errors import LabdeskError
from ui.widgets.errors import audit_denial

if TYPE_CHECKING:
    from labdesk.kernel.dto import SignedInUser
    from labdesk.kernel.messagebus import Command, MessageBus
    from labdesk.ports import UnitOfWork

logger = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

ErrorCallback = Callable[[Exception], None]


@dataclass(frozen=True)
class _Outcome:
    """What the job produced: a return value or the exception it raised."""

    value: Any = None
    error: Exception | None = None


@dataclass(frozen=True)
class _Callbacks:
    """The job and its callbacks, kept alive and released on the main thread."""

    fn: Callable[[], Any]
    owner: QObject | None
    on_done: Callable[[Any], None]
    on_error: ErrorCallback


class _Delivery(QObject):
    """Receives a job's outcome on the main thread and calls back there.

    A child of the application, so it cannot disappear while the job runs; it deletes itself
    after delivering. A destroyed ``owner`` (say, the main window after sign-out) makes it
    drop the outcome: the check runs on the main thread, where owners die.
    """

    def __init__(self, callbacks: _Callbacks) -> None:
        super().__init__(QCoreApplication.instance())
        self._callbacks: _Callbacks | None = callbacks
        self.outcome: _Outcome | None = None  # set by the worker before it signals

    @Slot()
    def deliver(self) -> None:
        """Call ``on_done`` or ``on_error`` unless the owner is gone."""
        self.deleteLater()
        callbacks, self._callbacks = self._callbacks, None
        outcome, self.outcome = self.outcome, None
        if callbacks is None or outcome is None:
            return
        owner = callbacks.owner
        if owner is not None and not shiboken6.isValid(owner):
            return
        if outcome.error is not None:
            callbacks.on_error(outcome.error)
        else:
            callbacks.on_done(outcome.value)


def _call(fn: Callable[[], Any]) -> _Outcome:
    try:
        return _Outcome(value=fn())
    except LabdeskError as exc:
        audit_denial(exc)  # a role denial is audited here, on the pool thread
        return _Outcome(error=exc)
    except Exception as exc:
        # Not a user-facing failure: a bug. Log it here, where the traceback is complete.
        logger.exception("background job %r failed", fn)
        return _Outcome(error=exc)


class _Job(QRunnable):
    """Runs the function on a pool thread, then posts the outcome to the delivery."""

    def __init__(self, delivery: _Delivery, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._delivery: _Delivery | None = delivery
        self._fn: Callable[[], Any] | None = fn

    def run(self) -> None:
        """Run the job; never lets an exception escape into Qt's thread pool."""
        delivery, fn = self._delivery, self._fn
        self._delivery = self._fn = None
        if delivery is None or fn is None:
            return
        delivery.outcome = _call(fn)
        del fn  # before signalling: from then on the main thread may release everything
        QMetaObject.invokeMethod(delivery, "deliver", Qt.ConnectionType.QueuedConnection)


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
    delivery = _Delivery(_Callbacks(fn, owner, on_done, on_error))
    QThreadPool.globalInstance().start(_Job(delivery, fn))


def wait_for_background_jobs(timeout_ms: int = 30_000) -> bool:
    """Block until running jobs finish (at exit, before closing the database).

    Returns:
        True if every job finished within ``timeout_ms``.
    """
    return QThreadPool.globalInstance().waitForDone(timeout_ms)


class QueryOp(Generic[T]):
    """A read through the bus, off the UI thread (Anki's ``QueryOp``, on LabDesk's bus).

    Usage::

        QueryOp(bus, pickup_manifest, user, number).run(self._show, self.banner.show_error,
                                                        owner=self)
    """

    def __init__(
        self,
        bus: MessageBus,
        fn: Callable[Concatenate[UnitOfWork, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        self._work: Callable[[], T] = lambda: bus.query(fn, *args, **kwargs)

    def run(
        self, on_done: Callable[[T], None], on_error: ErrorCallback, *, owner: QObject | None = None
    ) -> None:
        """Start it; ``on_done``/``on_error`` are called on the main thread."""
        run_in_background(self._work, on_done, on_error, owner=owner)


class CommandOp(Generic[T]):
    """A command through the bus, off the UI thread (Anki's ``CollectionOp``).

    The command carries its idempotency key, so a retry of the same ``CommandOp`` after a
    lost answer is done once.
    """

    def __init__(self, bus: MessageBus, command: Command[T], actor: SignedInUser | None) -> None:
        self._work: Callable[[], T] = lambda: bus.handle(command, actor)

    def run(
        self, on_done: Callable[[T], None], on_error: ErrorCallback, *, owner: QObject | None = None
    ) -> None:
        """Start it; ``on_done``/``on_error`` are called on the main thread."""
        run_in_background(self._work, on_done, on_error, owner=owner)
