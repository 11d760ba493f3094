"""Sound and colour that confirm every scan: a chirp for OK, a buzz for a warning, an alarm.

Sounds are short WAV files in ``resources/`` (made by :func:`synthesize_wav`, so their
origin is known). They play through QtMultimedia when it is available; otherwise (a
trimmed Qt, no audio system) ``QApplication.beep()`` is used, once for OK, twice for a
warning and three times for an alarm, so the kinds stay distinguishable by ear.
"""

from __future__ import annotations

import io
import logging
import math
import struct
import wave
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl
from PySide6.QtWidgets import QApplication, QWidget

from resources import resource

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


class Tone(StrEnum):
    """The kinds of feedback, each with its own sound and colour."""

    OK = "ok"
    WARNING = "warning"
    ALARM = "alarm"


COLOURS = {Tone.OK: "#1b7f3b", Tone.WARNING: "#b26a00", Tone.ALARM: "#b00020"}
BACKGROUNDS = {Tone.OK: "#dff3e4", Tone.WARNING: "#fff1d6", Tone.ALARM: "#ffd7dc"}
# (frequency Hz, milliseconds) segments of each sound.
_MELODIES = {
    Tone.OK: ((1760, 90),),
    Tone.WARNING: ((660, 120), (0, 60), (660, 120)),
    Tone.ALARM: ((880, 160), (440, 160), (880, 160), (440, 160), (880, 160), (440, 160)),
}
_BEEPS = {Tone.OK: 1, Tone.WARNING: 2, Tone.ALARM: 3}


def synthesize_wav(segments: tuple[tuple[int, int], ...], volume: float = 0.4) -> bytes:
    """A mono 16-bit WAV of sine segments (frequency 0 is silence), with short fades."""
    frames = bytearray()
    for frequency, millis in segments:
        count = SAMPLE_RATE * millis // 1000
        fade = max(1, SAMPLE_RATE // 200)
        for i in range(count):
            envelope = min(1.0, i / fade, (count - i) / fade)
            value = math.sin(2 * math.pi * frequency * i / SAMPLE_RATE) if frequency else 0.0
            frames += struct.pack("<h", int(32767 * volume * envelope * value))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


def sound_file(tone: Tone) -> str:
    """Name of the shipped WAV file of ``tone``."""
    return f"scan_{tone.value}.wav"


def write_sounds(directory: Path) -> list[Path]:
    """(Re)create the shipped WAV files in ``directory``."""
    written = []
    for tone, melody in _MELODIES.items():
        path = directory / sound_file(tone)
        path.write_bytes(synthesize_wav(melody))
        written.append(path)
    return written


class ScanFeedback(QObject):
    """Plays the sound of a tone; ``played`` records tones for tests and diagnostics."""

    def __init__(self, parent: QObject | None = None, *, audible: bool = True) -> None:
        super().__init__(parent)
        self.audible = audible
        self.played: list[Tone] = []
        self._effects: dict[Tone, Any] | None = None

    def play(self, tone: Tone) -> None:
        """Sound ``tone`` (never raises: feedback must not break a scan)."""
        self.played.append(tone)
        if not self.audible:
            return
        effect = self._effect(tone)
        if effect is not None:
            effect.play()
            return
        for n in range(_BEEPS[tone]):
            QTimer.singleShot(180 * n, QApplication.beep)

    def _effect(self, tone: Tone) -> Any:
        if self._effects is None:
            self._effects = _load_effects(self)
        return self._effects.get(tone)


def _load_effects(parent: QObject) -> dict[Tone, Any]:
    try:
        from PySide6.QtMultimedia import QSoundEffect  # optional: PySide6-Addons + audio libs
    except ImportError as exc:
        logger.info("QtMultimedia unavailable (%s): scans confirm with the system beep", exc)
        return {}
    effects = {}
    for tone in Tone:
        path = resource(sound_file(tone))
        if not path.is_file():
            continue
        effect = QSoundEffect(parent)
        effect.setSource(QUrl.fromLocalFile(str(path)))
        effects[tone] = effect
    return effects


def flash(widget: QWidget, tone: Tone, *, millis: int = 900) -> None:
    """Colour ``widget``'s background for a moment (an alarm stays until cleared)."""
    widget.setStyleSheet(
        f"background-color: {BACKGROUNDS[tone]}; color: {COLOURS[tone]}; "
        "border-radius: 4px; padding: 6px; font-weight: bold;"
    )
    if tone is not Tone.ALARM:
        QTimer.singleShot(millis, widget, lambda: widget.setStyleSheet(""))
