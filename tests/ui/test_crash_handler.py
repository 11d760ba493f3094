"""The exception hook: known errors get their message, bugs a crash dialog."""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from labdesk.domain.errors import StorageError
from ui.crash_handler import CrashHandler


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[QMessageBox]:
    """Message boxes the handler would have shown (never opened for real)."""
    boxes: list[QMessageBox] = []

    def fake_exec(box: QMessageBox) -> int:
        boxes.append(box)
        return int(QMessageBox.StandardButton.Ok.value)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return boxes


def _raise(exc: BaseException) -> None:
    try:
        raise exc
    except BaseException as caught:
        CrashHandler().handle(type(caught), caught, caught.__traceback__)


def test_bug_is_logged_and_shows_crash_dialog(
    qtbot: QtBot, shown: list[QMessageBox], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.CRITICAL, logger="ui.crash_handler"):
        _raise(KeyError("station"))
    assert caplog.records[0].exc_info is not None
    (box,) = shown
    assert box.icon() == QMessageBox.Icon.Critical
    assert "hit a bug" in box.text()
    assert "KeyError: 'station'" in box.detailedText()


def test_known_error_shows_message_and_hint(qtbot: QtBot, shown: list[QMessageBox]) -> None:
    _raise(StorageError("The database is locked.", hint="Wait a moment."))
    (box,) = shown
    assert box.icon() == QMessageBox.Icon.Warning
    assert box.text() == "The database is locked. Wait a moment."
    assert box.detailedText() == ""


def test_install_sets_the_process_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    handler = CrashHandler()
    handler.install()
    assert sys.excepthook == handler.handle
