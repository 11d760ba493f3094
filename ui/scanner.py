"""Keyboard-wedge barcode scanners on every screen: tell a scan from typing, then route it.

A wedge scanner "types" the barcode and presses Enter (or Tab). :class:`ScannerInput` is an
application-wide event filter watching key presses: printable keys pressed less than
``max_interval_ms`` apart, at least ``min_length`` of them, ended by a terminator, are a
scan. The gaps are measured between the key events' own timestamps (set by the window
system when the key went down), not when the application gets round to them: a busy
workstation delivers a person's keys in a burst, and that burst is still typing.
Keys pass through as they come (typing is never delayed); when a burst turns out to be a
scan, its characters are taken back out of the text field they landed in and the
terminator is swallowed, so a scan never submits a form or leaves digits in a search box.
Text fields keep raw scans unless they opt in with :func:`route_scans_from` (so a page's
own "scan here" field works as before); scans anywhere else are routed.
With a configured prefix (e.g. a control character the scanner sends first) every key up to
the terminator is held back instead; prefix and suffix are stripped.
Password fields, date fields and fields marked with :data:`NO_SCAN` are never read as scans
unless the burst carries the configured prefix/suffix (their keys are never held back).

:class:`ScanRouter` classifies each scan: a specimen label (digits only: an accession, even
a misread one) or a patient identifier (wristband, ID card), and emits a signal pages
connect to.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass
from enum import StrEnum

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDateTimeEdit,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from labdesk.config import Config
from labdesk.domain.accession import ACCESSION_LENGTH

logger = logging.getLogger(__name__)

_TERMINATORS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab)
_MODIFIER_KEYS = (
    Qt.Key.Key_Shift,
    Qt.Key.Key_Control,
    Qt.Key.Key_Alt,
    Qt.Key.Key_Meta,
    Qt.Key.Key_CapsLock,
    Qt.Key.Key_AltGr,
)
_COMMAND_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)
#: A prefixed scan that stops arriving for this long is given back as typing.
_FORCED_TIMEOUT_MS = 800
#: The same key offered to a parent widget within this time is one key press, not two.
_PROPAGATION_S = 0.05


@dataclass(frozen=True)
class ScannerSettings:
    """How scans are told apart from typing (from the workstation's config)."""

    max_interval_ms: int = 30
    min_length: int = 4
    prefix: str = ""
    suffix: str = ""

    @classmethod
    def from_config(cls, config: Config) -> ScannerSettings:
        """Read the ``scanner_*`` settings."""
        return cls(
            max_interval_ms=max(5, config.scanner_max_key_interval_ms),
            min_length=max(1, config.scanner_min_length),
            prefix=config.scanner_prefix,
            suffix=config.scanner_suffix,
        )


@dataclass
class _Key:
    receiver: weakref.ReferenceType[QWidget]
    text: str
    event: QKeyEvent | None = None
    """A copy of the event, kept only while held back (prefix mode)."""


class ScannerInput(QObject):
    """Application event filter that turns fast key bursts ending in Enter/Tab into scans.

    ``install()`` puts it on the application; ``uninstall()`` removes it.
    """

    scanned = Signal(str)

    def __init__(self, settings: ScannerSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._burst: list[_Key] = []
        self._last: tuple[float, bool] | None = None
        """When the previous key went down (ms) and whether the window system said so."""
        self._forced = False
        self._replaying = False
        self._last_event: tuple[weakref.ReferenceType[QWidget], int, str, int, float] | None = None
        self._forced_timer = QTimer(self)
        self._forced_timer.setSingleShot(True)
        self._forced_timer.setInterval(_FORCED_TIMEOUT_MS)
        self._forced_timer.timeout.connect(self._give_back)

    def install(self) -> None:
        """Start watching every key press of the application."""
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def uninstall(self) -> None:
        """Stop watching (held keys are delivered first)."""
        self._give_back()
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Watch key presses; swallow only what belongs to a scan."""
        if self._replaying or event.type() != QEvent.Type.KeyPress:
            return False
        if not isinstance(watched, QWidget) or not isinstance(event, QKeyEvent):
            return False
        return self._key(watched, event)

    def _key(self, receiver: QWidget, event: QKeyEvent) -> bool:
        if self._propagated(receiver, event):
            return False
        if _keeps_raw_scans(receiver):
            return False
        key = event.key()
        if key in _MODIFIER_KEYS:
            return self._forced
        gap = self._gap(event)
        text = event.text()
        printable = bool(text) and text.isprintable() and not event.modifiers() & _COMMAND_MODIFIERS
        no_scan = _no_scan(receiver)
        if self._forced:
            if key in _TERMINATORS:
                self._finish()
                return True
            if printable:
                self._burst.append(_Key(weakref.ref(receiver), text, _copy(event)))
                self._forced_timer.start()
            return True
        prefix = self.settings.prefix
        if printable and prefix and text == prefix[0] and not no_scan:
            self._burst = [_Key(weakref.ref(receiver), text, _copy(event))]
            self._forced = True
            self._forced_timer.start()
            return True
        fast = 0 <= gap <= self.settings.max_interval_ms
        if key in _TERMINATORS:
            scan = fast and len(self._burst) >= self.settings.min_length
            if scan and (not no_scan or self._marked()):
                self._take_back()
                self._finish()
                return True
            self._burst = []
            return False
        if not printable:
            self._burst = []
            return False
        if not fast:
            self._burst = []
        self._burst.append(_Key(weakref.ref(receiver), text))
        return False

    def _gap(self, event: QKeyEvent) -> float:
        """Milliseconds since the previous key went down (inf when unknown).

        The event's timestamp is when the key was pressed; the monotonic clock (when it is
        processed) is only a fallback for events without one (synthesized ones carry 0).
        """
        stamp = event.timestamp()
        now = (float(stamp), True) if stamp else (time.monotonic() * 1000, False)
        last, self._last = self._last, now
        if last is None or last[1] != now[1]:
            return float("inf")  # two clocks cannot be compared
        return now[0] - last[0]

    def _marked(self) -> bool:
        """The burst carries every configured prefix/suffix (and at least one is configured)."""
        prefix, suffix = self.settings.prefix, self.settings.suffix
        text = "".join(k.text for k in self._burst)
        return bool(prefix or suffix) and text.startswith(prefix) and text.endswith(suffix)

    def _propagated(self, receiver: QWidget, event: QKeyEvent) -> bool:
        """True for a key the focus widget ignored, now offered to its parent.

        The application filter sees such an event once per widget up the chain; it must
        count once. The copies offered up the chain share the original's timestamp.
        """
        last = self._last_event
        current = (event.key(), event.text(), event.timestamp(), time.monotonic())
        self._last_event = (weakref.ref(receiver), *current)
        if last is None:
            return False
        before = last[0]()
        same_press = (
            last[3] == current[2]
            if last[3] and current[2]
            else current[3] - last[4] < _PROPAGATION_S
        )
        return (
            before is not None
            and shiboken6.isValid(before)
            and receiver is not before  # isAncestorOf() counts the widget itself
            and receiver.isAncestorOf(before)
            and last[1:3] == current[:2]
            and same_press
        )

    def _finish(self) -> None:
        self._forced_timer.stop()
        text = "".join(k.text for k in self._burst)
        self._burst = []
        self._forced = False
        prefix, suffix = self.settings.prefix, self.settings.suffix
        if prefix and text.startswith(prefix):
            text = text[len(prefix) :]
        if suffix and text.endswith(suffix):
            text = text[: -len(suffix)]
        text = text.strip()
        if text:
            logger.debug("scan of %d characters", len(text))  # never the value: may be PHI
            self.scanned.emit(text)

    def _take_back(self) -> None:
        """Remove the burst's characters from the text fields they were typed into."""
        counts: dict[int, tuple[QWidget, int]] = {}
        for item in self._burst:
            widget = item.receiver()
            if widget is not None and shiboken6.isValid(widget):
                _, n = counts.get(id(widget), (widget, 0))
                counts[id(widget)] = (widget, n + len(item.text))
        for widget, n in counts.values():
            _remove_typed(widget, n)

    def _give_back(self) -> None:
        """Deliver held (prefix-mode) keys as ordinary typing."""
        self._forced_timer.stop()
        held, self._burst = self._burst, []
        self._forced = False
        self._replaying = True
        try:
            for item in held:
                receiver = item.receiver()
                if item.event is not None and receiver is not None and shiboken6.isValid(receiver):
                    QCoreApplication.sendEvent(receiver, item.event)
        finally:
            self._replaying = False


#: Widget property: a text field whose scans are routed (taken out of the field).
ROUTE_SCANS = "labdesk_route_scans"
#: Widget property: what is typed here is never a scan unless it carries the scanner's
#: prefix/suffix (a date of birth or a password typed quickly is still typing).
NO_SCAN = "labdesk_no_scan"
_SECRET_ECHO = (QLineEdit.EchoMode.Password, QLineEdit.EchoMode.PasswordEchoOnEdit)
_TEXT_INPUTS = (QLineEdit, QAbstractSpinBox, QComboBox, QPlainTextEdit, QTextEdit)


def route_scans_from(widget: QWidget) -> None:
    """Let scans typed into the text field ``widget`` be routed instead of kept as text."""
    widget.setProperty(ROUTE_SCANS, True)


def _keeps_raw_scans(widget: QWidget) -> bool:
    """Text fields keep what a scanner types into them unless they opted in to routing.

    A page with its own "scan here" field (courier, lab receiving) then handles scans as it
    always did; everywhere else (tables, buttons, the station's fields) scans are routed.
    """
    if not isinstance(widget, _TEXT_INPUTS):
        return False
    if isinstance(widget, QComboBox) and not widget.isEditable():
        return False
    parent = widget.parentWidget()
    opted_in = bool(widget.property(ROUTE_SCANS)) or (
        parent is not None
        and isinstance(parent, _TEXT_INPUTS)
        and bool(parent.property(ROUTE_SCANS))
    )
    return not opted_in


def _no_scan(widget: QWidget) -> bool:
    """A password or date field, or one marked :data:`NO_SCAN` (or the editor inside one)."""
    for candidate in (widget, widget.parentWidget()):
        if candidate is None:
            continue
        if bool(candidate.property(NO_SCAN)) or isinstance(candidate, QDateTimeEdit):
            return True
        if isinstance(candidate, QLineEdit) and candidate.echoMode() in _SECRET_ECHO:
            return True
    return False


def _remove_typed(widget: QWidget, count: int) -> None:
    """Delete the last ``count`` characters typed into a text field (cursor before them)."""
    edit: QWidget | None = widget
    if isinstance(widget, QAbstractSpinBox | QComboBox):
        edit = widget.findChild(QLineEdit)
    if isinstance(edit, QLineEdit):
        position = edit.cursorPosition()
        start = max(0, position - count)
        text = edit.text()
        edit.setText(text[:start] + text[position:])
        edit.setCursorPosition(start)
    elif isinstance(edit, QPlainTextEdit | QTextEdit):
        cursor = edit.textCursor()
        for _ in range(count):
            cursor.deletePreviousChar()
        edit.setTextCursor(cursor)


def _copy(event: QKeyEvent) -> QKeyEvent:
    copy = QKeyEvent(
        event.type(),
        event.key(),
        event.modifiers(),
        event.text(),
        event.isAutoRepeat(),
        event.count(),
    )
    copy.setTimestamp(event.timestamp())
    return copy


class ScanKind(StrEnum):
    """What a scanned barcode is."""

    SPECIMEN = "specimen"
    PATIENT = "patient"


def classify(text: str) -> ScanKind:
    """Digits of about an accession's length are a specimen label (even if misread)."""
    stripped = text.strip()
    if stripped.isdigit() and abs(len(stripped) - ACCESSION_LENGTH) <= 2:
        return ScanKind.SPECIMEN
    return ScanKind.PATIENT


class ScanRouter(QObject):
    """Routes scans: a wristband or ID card opens the patient; a tube label ticks a specimen.

    Pages connect to ``specimen_scanned`` (courier and lab pages may use it too) and
    ``patient_scanned``. ``claim_all`` lets a page in a scanning step take every scan.
    """

    specimen_scanned = Signal(str)
    patient_scanned = Signal(str)

    def __init__(self, scanner: ScannerInput, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scanner = scanner
        scanner.scanned.connect(self.route)

    def route(self, text: str) -> None:
        """Emit the signal for ``text``'s kind."""
        if classify(text) is ScanKind.SPECIMEN:
            self.specimen_scanned.emit(text)
        else:
            self.patient_scanned.emit(text)
