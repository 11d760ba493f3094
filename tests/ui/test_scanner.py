"""Keyboard-wedge scanner input: scans told apart from typing, routed, and taken back out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDateEdit, QLineEdit, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from ui.scanner import (
    NO_SCAN,
    ScanKind,
    ScannerInput,
    ScannerSettings,
    ScanRouter,
    classify,
    route_scans_from,
)
from ui.session.sign_in import SignInWidget
from ui.station.identify_step import IdentifyStep
from ui.widgets.feedback import ScanFeedback, Tone, synthesize_wav


class Form(QWidget):
    """A routed search box, a page's own raw scan field and a button."""

    def __init__(self) -> None:
        super().__init__()
        self.search = QLineEdit(self)
        route_scans_from(self.search)
        self.raw = QLineEdit(self)
        self.button = QPushButton("Go", self)
        self.submitted: list[str] = []
        self.search.returnPressed.connect(lambda: self.submitted.append(self.search.text()))
        self.raw.returnPressed.connect(lambda: self.submitted.append(self.raw.text()))
        layout = QVBoxLayout(self)
        for widget in (self.search, self.raw, self.button):
            layout.addWidget(widget)


@pytest.fixture
def form(qtbot: QtBot) -> Form:
    form = Form()
    qtbot.addWidget(form)
    form.show()
    return form


def make_scanner(**settings: object) -> Iterator[tuple[ScannerInput, list[str]]]:
    scanner = ScannerInput(ScannerSettings(**settings))  # type: ignore[arg-type]
    scanner.install()
    found: list[str] = []
    scanner.scanned.connect(found.append)
    yield scanner, found
    scanner.uninstall()


@pytest.fixture
def scanner() -> Iterator[tuple[ScannerInput, list[str]]]:
    yield from make_scanner()


def burst(widget: QWidget, text: str, terminator: Qt.Key = Qt.Key.Key_Return) -> None:
    """Keys back to back, as a wedge scanner sends them."""
    for ch in text:
        QTest.keyClick(widget, ch)
    QTest.keyClick(widget, terminator)


_clock = [1_000_000]
"""Window-system time (ms) of the next posted key; it only moves forward."""


def post_keys(
    widget: QWidget, text: str, gap_ms: int, terminator: Qt.Key = Qt.Key.Key_Return
) -> None:
    """Keys pressed ``gap_ms`` apart (their event timestamps), then processed all at once.

    This is what a busy workstation does: the window system stamps each key when it goes
    down, and the application gets to them later, back to back.
    """
    keys = [(Qt.Key(ord(ch.upper())), ch) for ch in text] + [(terminator, "")]
    _clock[0] += 1000
    for key, ch in keys:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch)
            event.setTimestamp(_clock[0])
            QCoreApplication.postEvent(widget, event)
        _clock[0] += gap_ms
    QCoreApplication.processEvents()


def test_a_burst_into_a_routed_field_is_a_scan_taken_back_out(
    form: Form, scanner: tuple[ScannerInput, list[str]]
) -> None:
    _, found = scanner
    QTest.keyClicks(form.search, "ab", delay=60)  # typed by a person before the scan
    burst(form.search, "WB-M100001")
    assert found == ["WB-M100001"]
    assert form.search.text() == "ab"
    assert form.submitted == []  # the scanner's Enter was swallowed


def test_typing_slowly_then_enter_is_typing(
    qtbot: QtBot, form: Form, scanner: tuple[ScannerInput, list[str]]
) -> None:
    _, found = scanner
    QTest.keyClicks(form.search, "smith", delay=45)
    qtbot.wait(45)
    QTest.keyClick(form.search, Qt.Key.Key_Return)
    assert found == []
    assert form.search.text() == "smith"
    assert form.submitted == ["smith"]


def test_short_bursts_are_typing(form: Form, scanner: tuple[ScannerInput, list[str]]) -> None:
    _, found = scanner
    burst(form.search, "ab")  # shorter than min_length
    assert found == []
    assert form.submitted == ["ab"]


def test_a_page_s_own_scan_field_keeps_raw_scans(
    form: Form, scanner: tuple[ScannerInput, list[str]]
) -> None:
    _, found = scanner
    burst(form.raw, "2600000014")
    assert found == []
    assert form.submitted == ["2600000014"]


def test_scan_on_a_button_counts_each_key_once(
    form: Form, scanner: tuple[ScannerInput, list[str]]
) -> None:
    _, found = scanner
    form.button.setFocus()
    burst(form.button, "2600000014", Qt.Key.Key_Tab)  # ignored keys propagate to parents
    assert found == ["2600000014"]


def test_prefix_forces_scan_mode_and_prefix_suffix_are_stripped(form: Form) -> None:
    for _, found in make_scanner(prefix="#", suffix="$", max_interval_ms=5):
        QTest.keyClicks(form.search, "#WB-1", delay=20)  # slow, but prefixed
        QTest.keyClicks(form.search, "23$")
        QTest.keyClick(form.search, Qt.Key.Key_Return)
        assert found == ["WB-123"]
        assert form.search.text() == ""  # held back, never typed


def test_prefixed_scan_that_never_ends_is_given_back(qtbot: QtBot, form: Form) -> None:
    for _, found in make_scanner(prefix="#"):
        QTest.keyClicks(form.search, "#ab")
        qtbot.waitUntil(lambda: form.search.text() == "#ab", timeout=3000)
        assert found == []


def test_keys_pressed_at_typing_speed_but_processed_in_a_burst_are_typing(
    form: Form, scanner: tuple[ScannerInput, list[str]]
) -> None:
    _, found = scanner
    post_keys(form.search, "19450113", gap_ms=150)
    assert found == []
    assert form.search.text() == "19450113"
    assert form.submitted == ["19450113"]


def test_keys_pressed_at_scanner_speed_are_a_scan(
    form: Form, scanner: tuple[ScannerInput, list[str]]
) -> None:
    _, found = scanner
    post_keys(form.search, "WB-M100001", gap_ms=5)
    assert found == ["WB-M100001"]
    assert form.search.text() == ""
    assert form.submitted == []


def test_a_slow_key_in_the_middle_ends_the_burst(
    form: Form, scanner: tuple[ScannerInput, list[str]]
) -> None:
    _, found = scanner
    post_keys(form.search, "WB-M1", gap_ms=5)  # ended by Enter 5 ms later: a scan
    assert found == ["WB-M1"]
    _clock[0] += 500
    post_keys(form.search, "ab", gap_ms=150)  # then a person types
    assert found == ["WB-M1"]
    assert form.search.text() == "ab"


def secret_field(form: Form, mode: QLineEdit.EchoMode, marked: bool) -> QLineEdit:
    """A field a scan could be routed from, holding something never to be taken for one."""
    edit = QLineEdit(form)
    edit.setEchoMode(mode)
    if marked:
        edit.setProperty(NO_SCAN, True)
    route_scans_from(edit)  # the worst case: a field that routes scans
    edit.returnPressed.connect(lambda: form.submitted.append(edit.text()))
    return edit


SECRET_FIELDS = pytest.mark.parametrize(
    ("mode", "marked"),
    [
        (QLineEdit.EchoMode.Password, False),
        (QLineEdit.EchoMode.PasswordEchoOnEdit, False),
        (QLineEdit.EchoMode.Normal, True),  # "Show password" ticked, or a marked field
    ],
    ids=["password", "password-echo-on-edit", "marked"],
)


@SECRET_FIELDS
def test_fast_keys_into_a_password_field_are_typing(
    form: Form, scanner: tuple[ScannerInput, list[str]], mode: QLineEdit.EchoMode, marked: bool
) -> None:
    _, found = scanner
    edit = secret_field(form, mode, marked)
    post_keys(edit, "hunter22correct", gap_ms=5)
    assert found == []
    assert edit.text() == "hunter22correct"
    assert form.submitted == ["hunter22correct"]


@SECRET_FIELDS
@pytest.mark.parametrize(
    ("settings", "keys"),
    [
        ({"suffix": "$"}, "WB-M100001$"),
        ({"prefix": "#"}, "#WB-M100001"),
        ({"prefix": "#", "suffix": "$"}, "#WB-M100001$"),
    ],
    ids=["suffix", "prefix", "both"],
)
def test_a_scan_with_the_configured_prefix_suffix_is_routed_from_a_password_field(
    form: Form, mode: QLineEdit.EchoMode, marked: bool, settings: dict[str, str], keys: str
) -> None:
    edit = secret_field(form, mode, marked)
    for _, found in make_scanner(**settings):
        post_keys(edit, keys, gap_ms=5)
        assert found == ["WB-M100001"]
        assert edit.text() == ""
        assert form.submitted == []


def test_a_password_holding_the_prefix_is_neither_held_back_nor_routed(form: Form) -> None:
    edit = secret_field(form, QLineEdit.EchoMode.Password, marked=False)
    for _, found in make_scanner(prefix="#", suffix="$"):
        post_keys(edit, "#correct-horse", gap_ms=5)  # no suffix: typing
        assert found == []
        assert edit.text() == "#correct-horse"
        edit.clear()
        post_keys(edit, "#correct-horse$", gap_ms=150)  # both markers, at typing speed
        assert found == []
        assert edit.text() == "#correct-horse$"


def test_the_sign_in_password_field_is_never_a_scan(qtbot: QtBot) -> None:
    widget = SignInWidget("DRAW-2")
    qtbot.addWidget(widget)
    assert widget.password_edit.property(NO_SCAN) is True
    widget.show_password_check.setChecked(True)  # shown in clear: still a password
    for _, found in make_scanner():
        route_scans_from(widget.password_edit)
        post_keys(widget.password_edit, "hunter22correct", gap_ms=5)
        assert found == []
        assert widget.password_edit.text() == "hunter22correct"


def test_fast_keys_into_the_date_of_birth_field_are_typing(qtbot: QtBot) -> None:
    step = IdentifyStep()
    qtbot.addWidget(step)
    step.show()
    stated: list[object] = []
    step.confirm_requested.connect(lambda born, _name: stated.append(born))
    for _, found in make_scanner():
        post_keys(step.dob_edit, "01/13/1945", gap_ms=5)
        assert found == []
        assert step.dob_edit.text() == "01/13/1945"
        assert stated == [date(1945, 1, 13)]


def test_a_wristband_with_the_prefix_is_routed_from_the_date_of_birth_field(
    qtbot: QtBot,
) -> None:
    step = IdentifyStep()
    qtbot.addWidget(step)
    step.show()
    stated: list[object] = []
    step.confirm_requested.connect(lambda born, _name: stated.append(born))
    for _, found in make_scanner(prefix="#"):
        post_keys(step.dob_edit, "#WBM100001", gap_ms=5)
        assert found == ["WBM100001"]
        assert step.dob_edit.text() == ""
        assert stated == []


def test_fast_keys_into_a_date_edit_are_typing(
    qtbot: QtBot, scanner: tuple[ScannerInput, list[str]]
) -> None:
    edit = QDateEdit()
    qtbot.addWidget(edit)
    route_scans_from(edit)
    edit.show()
    _, found = scanner
    post_keys(edit, "01131945", gap_ms=5)
    assert found == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("2600000014", ScanKind.SPECIMEN),
        ("260000001", ScanKind.SPECIMEN),  # misread: still a tube, to be refused as such
        ("WB-M100001", ScanKind.PATIENT),
        ("M100001", ScanKind.PATIENT),
        ("12", ScanKind.PATIENT),
    ],
)
def test_classify(text: str, kind: ScanKind) -> None:
    assert classify(text) is kind


def test_router_emits_by_kind(
    qtbot: QtBot, scanner: tuple[ScannerInput, list[str]], form: Form
) -> None:
    router = ScanRouter(scanner[0])
    tubes: list[str] = []
    patients: list[str] = []
    router.specimen_scanned.connect(tubes.append)
    router.patient_scanned.connect(patients.append)
    burst(form.search, "2600000014")
    burst(form.search, "WB-M100001")
    assert (tubes, patients) == (["2600000014"], ["WB-M100001"])


def test_feedback_records_tones_and_wav_is_valid() -> None:
    feedback = ScanFeedback(audible=False)
    feedback.play(Tone.ALARM)
    assert feedback.played == [Tone.ALARM]
    wav = synthesize_wav(((440, 50),))
    assert wav[:4] == b"RIFF"
    assert wav[8:12] == b"WAVE"
