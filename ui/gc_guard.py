"""Collect Python's cyclic garbage on the UI thread only.

CPython runs its cycle collector on whichever thread happens to allocate when a generation
threshold is crossed. With background jobs on ``QThreadPool`` threads that is often a pool
thread, and a collected cycle holding a Qt wrapper (a closed dialog, a page and its model)
then runs a ``QWidget`` destructor off the GUI thread: a crash in native code, seen about
once per full test run. The remedy is the one PyQt applications use (the
"GarbageCollector" recipe): turn automatic collection off and let a timer on the UI thread
collect when the thresholds say it is time. Reference counting still frees everything
acyclic at once; only cycles wait for the next tick.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

INTERVAL_MS = 500
"""How often the thresholds are checked: cheap (three integers), so twice a second."""


class MainThreadCollector(QObject):
    """Owns garbage collection while it is installed; see the module docstring."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        """Disable automatic collection and start checking from the UI thread."""
        self._was_enabled = self._was_enabled or gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Give collection back to the interpreter (after a last collection here)."""
        self._timer.stop()
        self.collect()
        if self._was_enabled:
            gc.enable()

    def check(self) -> None:
        """Collect the generations whose thresholds are crossed, as the interpreter would."""
        first, second, third = gc.get_count()
        limit0, limit1, limit2 = self._thresholds
        if first <= limit0:
            return
        generation = 0
        if second > limit1:
            generation = 1
            if third > limit2:
                generation = 2
        gc.collect(generation)

    def collect(self) -> int:
        """A full collection now, on this (the UI) thread; the number of objects freed."""
        return gc.collect()


def install(app: QCoreApplication) -> MainThreadCollector:
    """Install and start one collector on ``app`` (again: the same one, restarted).

    Call it on the UI thread.

    Raises:
        RuntimeError: when called from another thread.
    """
    if QThread.currentThread() is not app.thread():
        raise RuntimeError("install the garbage collector guard from the UI thread")
    existing = app.findChild(MainThreadCollector)
    collector = existing if isinstance(existing, MainThreadCollector) else None
    if collector is None:
        collector = MainThreadCollector(app)
    collector.start()
    return collector
