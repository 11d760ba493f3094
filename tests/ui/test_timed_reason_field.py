"""The reason for a timed draw outside its window: picker, text, Enter confirms."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from labdesk.domain.series import TIMING_REASONS
from ui.station.timing_reason import TimingReasonField


def _field(qtbot: QtBot) -> TimingReasonField:
    field = TimingReasonField()
    qtbot.addWidget(field)
    field.show()
    field.activateWindow()
    qtbot.waitUntil(field.isActiveWindow)  # focus needs an active window
    return field


def test_picking_a_reason_fills_the_text_and_enter_confirms(qtbot: QtBot) -> None:
    field = _field(qtbot)
    field.setStyleSheet("background-color: red;")  # as the collect step flashes it
    field.ask()
    assert field.picker.hasFocus()  # nothing typed yet: the common reasons first
    QTest.keyClick(field.picker, Qt.Key.Key_Down)
    QTest.keyClick(field.picker, Qt.Key.Key_Down)
    assert field.text() == TIMING_REASONS[1]
    assert field.styleSheet() == ""  # a reason given: the alarm colour goes
    with qtbot.waitSignal(field.confirmed, timeout=1000):
        QTest.keyClick(field.picker, Qt.Key.Key_Return)


def test_other_moves_to_the_text_and_a_typed_reason_is_kept(qtbot: QtBot) -> None:
    field = _field(qtbot)
    field.picker.setFocus()
    field.picker.setCurrentIndex(field.picker.count() - 1)  # "Other: type it"
    assert field.edit.hasFocus()
    qtbot.keyClicks(field.edit, "  bus   was late ")
    field.picker.setCurrentIndex(1)  # a later pick does not overwrite what was typed
    assert field.text() == "bus was late"
    with qtbot.waitSignal(field.confirmed, timeout=1000):
        QTest.keyClick(field.edit, Qt.Key.Key_Return)


def test_enter_without_a_reason_does_not_confirm(qtbot: QtBot) -> None:
    field = _field(qtbot)
    confirmed: list[bool] = []
    field.confirmed.connect(lambda: confirmed.append(True))
    field.edit.setFocus()
    qtbot.keyClicks(field.edit, "ok")  # under three characters
    QTest.keyClick(field.edit, Qt.Key.Key_Return)
    field.edit.clear()
    field.picker.setFocus()
    QTest.keyClick(field.picker, Qt.Key.Key_Return)  # the "Reason for the time…" prompt
    assert confirmed == []
    assert field.picker.hasFocus()
