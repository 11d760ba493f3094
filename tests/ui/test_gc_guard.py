"""Cyclic garbage is collected on the UI thread, never on a pool thread (ui/gc_guard.py)."""

from __future__ import annotations

import gc
import threading
from typing import ClassVar

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ui import gc_guard
from ui.tasks import run_in_background


class _Cycle:
    """Reports the thread that frees it."""

    freed_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_on.append(threading.current_thread().name)


def test_the_guard_owns_collection_and_collects_on_the_ui_thread(
    qapp: QApplication, qtbot: QtBot
) -> None:
    collector = gc_guard.install(qapp)
    assert gc_guard.install(qapp) is collector  # one per application
    assert not gc.isenabled()  # automatic collection (on any thread) is off

    def make_garbage() -> int:
        for _ in range(20_000):  # well past generation 0's threshold, on a pool thread
            _Cycle()
        return len(_Cycle.freed_on)

    done: list[int] = []
    _Cycle.freed_on.clear()
    run_in_background(make_garbage, done.append, lambda e: None)
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert done == [0]  # nothing was collected on the pool thread
    qtbot.waitUntil(lambda: len(_Cycle.freed_on) >= 20_000, timeout=10_000)  # the timer did
    assert set(_Cycle.freed_on) == {threading.main_thread().name}


def test_stopping_gives_collection_back(qapp: QApplication) -> None:
    collector = gc_guard.install(qapp)
    assert not gc.isenabled()
    collector.stop()
    assert gc.isenabled()
    gc_guard.install(qapp)  # the ui fixture stops it again after the test
