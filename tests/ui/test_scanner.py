"""Keyboard-wedge scanner input: scans told apart from typing, routed, and taken back out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from ui.feedback import ScanFeedback, Tone, synthesize_wav
from ui.scanner import (
    ScanKind,
    ScannerInput,
    ScannerSettings,
    ScanRouter,
    classify,
    route_scans_from,
)


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
