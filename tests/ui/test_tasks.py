"""run_in_background: results and errors arrive on the main thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest
import shiboken6
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from labdesk.domain.errors import NotFound
from ui.tasks import run_in_background, wait_for_background_jobs


class Recorder:
    """Collects callback values and the thread each callback ran on."""

    def __init__(self) -> None:
        self.values: list[object] = []
        self.threads: list[threading.Thread] = []

    def __call__(self, value: object) -> None:
        self.values.append(value)
        self.threads.append(threading.current_thread())


def test_result_is_delivered_on_main_thread(qtbot: QtBot) -> None:
    done, failed = Recorder(), Recorder()
    worker_threads: list[threading.Thread] = []

    def work() -> int:
        worker_threads.append(threading.current_thread())
        return 42

    run_in_background(work, done, failed)
    qtbot.waitUntil(lambda: done.values == [42])
    assert failed.values == []
    assert done.threads == [threading.main_thread()]
    assert worker_threads[0] is not threading.main_thread()


def test_labdesk_error_goes_to_on_error(qtbot: QtBot) -> None:
    done, failed = Recorder(), Recorder()
    error = NotFound("No such patient.", hint="Search again.")

    def work() -> None:
        raise error

    run_in_background(work, done, failed)
    qtbot.waitUntil(lambda: failed.values == [error])
    assert done.values == []
    assert failed.threads == [threading.main_thread()]


def test_bug_is_logged_and_goes_to_on_error(qtbot: QtBot, caplog: pytest.LogCaptureFixture) -> None:
    done, failed = Recorder(), Recorder()

    def work() -> None:
        raise ZeroDivisionError("boom")

    with caplog.at_level(logging.ERROR, logger="ui.tasks"):
        run_in_background(work, done, failed)
        qtbot.waitUntil(lambda: len(failed.values) == 1)
    assert isinstance(failed.values[0], ZeroDivisionError)
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


def test_callbacks_dropped_when_owner_is_destroyed(qtbot: QtBot) -> None:
    done, failed = Recorder(), Recorder()
    gate = threading.Event()
    owner = QObject()
    run_in_background(lambda: gate.wait(5), done, failed, owner=owner)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(owner))
    gate.set()
    assert wait_for_background_jobs(5000)
    qtbot.wait(50)  # let any (wrongly) queued delivery run
    assert done.values == []
    assert failed.values == []


class _Tracked:
    """Records the thread its last reference died on (a widget must die on the main thread)."""

    def __init__(self, deaths: list[threading.Thread]) -> None:
        self._deaths = deaths

    def __del__(self) -> None:
        self._deaths.append(threading.current_thread())


def _job_holding(tracked: _Tracked, fails: bool) -> Callable[[], _Tracked]:
    def work() -> _Tracked:
        if fails:
            raise NotFound(f"nothing for {tracked!r}")
        return tracked

    return work


@pytest.mark.parametrize("fails", [False, True], ids=["result", "error"])
def test_captured_objects_are_released_on_main_thread(qtbot: QtBot, fails: bool) -> None:
    deaths: list[threading.Thread] = []
    delivered: list[object] = []
    # Only the job's closure (and then its result or error) references the tracked object.
    run_in_background(_job_holding(_Tracked(deaths), fails), delivered.append, delivered.append)
    qtbot.waitUntil(lambda: len(delivered) == 1)
    delivered.clear()
    assert wait_for_background_jobs(5000)
    qtbot.waitUntil(lambda: len(deaths) == 1)
    assert deaths == [threading.main_thread()]
