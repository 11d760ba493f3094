"""Noticing that nobody has touched the station for a while (HIPAA automatic logoff).

The monitor watches every keyboard, mouse, wheel and touch event of the application and
emits :attr:`InactivityMonitor.timed_out` once the configured time has passed without one.
Time comes from an injected monotonic clock, and :meth:`InactivityMonitor.check` can be
called directly, so tests drive it with a fake clock instead of waiting minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal

CHECK_INTERVAL_MS = 1000
_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TabletPress,
        QEvent.Type.Shortcut,
    }
)

MonotonicClock = Callable[[], float]


class InactivityMonitor(QObject):
    """Emits ``timed_out`` after ``timeout_s`` seconds without user input (once per lapse)."""

    timed_out = Signal()

    def __init__(
        self,
        timeout_s: float,
        *,
        clock: MonotonicClock = time.monotonic,
        check_interval_ms: int = CHECK_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.timeout_s = timeout_s
        self._clock = clock
        self._last = clock()
        self._paused = False
        self._timer = QTimer(self)
        self._timer.setInterval(check_interval_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        """Watch the whole application's input from now on."""
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        """Stop watching (the window is closing)."""
        self._timer.stop()
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def reset(self) -> None:
        """Count from now and watch again after a lapse."""
        self._last = self._clock()
        self._paused = False

    def pause(self) -> None:
        """Stop counting (while locked there is nothing left to lock)."""
        self._paused = True

    @property
    def idle_s(self) -> float:
        """Seconds since the last input."""
        return self._clock() - self._last

    def check(self) -> None:
        """Emit ``timed_out`` if the station has been idle long enough."""
        if not self._paused and self.idle_s >= self.timeout_s:
            self._paused = True
            self.timed_out.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Any user input counts as activity; nothing is swallowed."""
        if not self._paused and event.type() in _ACTIVITY:
            self._last = self._clock()
        return False
