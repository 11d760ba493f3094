"""Printer status: parse Zebra ~HS / ~HQES replies and CUPS ``lpstat -p`` output.

Rule: anything that is not a well-formed, healthy answer means *not ready*. A silent
printer, a timeout or a garbled reply is never reported as healthy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STX = b"\x02"
ETX = b"\x03"
NO_ANSWER = "no answer from printer"
UNREADABLE = "unreadable status reply from printer"

# ~HS string 1 `aaa,b,c,dddd,eee,f,g,h,iii,j,k,l` and string 2 `mmm,n,o,p,q,r,s,t,...`:
# comma index -> problem when the flag is 1 (Zebra ZPL II Programming Guide, ~HS).
_HS1_PROBLEMS = {
    1: "paper out",
    2: "paused",
    5: "receive buffer full",
    9: "corrupt RAM (configuration lost)",
    11: "printhead over temperature",
}
_HS1_WARNINGS = {10: "printhead under temperature"}
_HS2_PROBLEMS = {2: "head open", 3: "ribbon out"}
_HS1_FIELDS = 12
_HS2_MIN_FIELDS = 4

# ~HQES bit values in the last 8-hex-digit group (nibble 1 rightmost, section 2.3).
_HQES_ERRORS = {
    0x001: "paper out",
    0x002: "ribbon out",
    0x004: "head open",
    0x008: "cutter fault",
    0x010: "printhead over temperature",
    0x020: "motor over temperature",
    0x040: "bad printhead element",
    0x080: "printhead detection error",
    0x100: "invalid firmware configuration",
    0x200: "printhead thermistor open",
}
# Warning bits come from an open-source emulator; verify on hardware.
_HQES_WARNINGS = {
    0x1: "media needs calibration",
    0x2: "clean printhead",
    0x4: "replace printhead",
    0x8: "paper near end",
}
_HQES_LINE = r"{}:\s*([01])\s+([0-9A-Fa-f]{{8}})\s+([0-9A-Fa-f]{{8}})"
_HQES_ERRORS_RE = re.compile(_HQES_LINE.format("ERRORS"))
_HQES_WARNINGS_RE = re.compile(_HQES_LINE.format("WARNINGS"))


@dataclass(frozen=True)
class PrinterStatus:
    """What a printer said about itself.

    Attributes:
        ready: True only when the printer positively reported that it can print.
        problems: Why it cannot print; empty exactly when ``ready``.
        warnings: Things to fix soon that do not stop printing.
    """

    ready: bool
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.ready == bool(self.problems):
            raise ValueError("a ready printer has no problems; a not-ready one names one")

    @classmethod
    def ok(cls, *warnings: str) -> PrinterStatus:
        """Return a ready status."""
        return cls(True, (), tuple(warnings))

    @classmethod
    def failed(cls, *problems: str, warnings: tuple[str, ...] = ()) -> PrinterStatus:
        """Return a not-ready status naming at least one problem."""
        return cls(False, tuple(problems) or (NO_ANSWER,), warnings)

    @property
    def summary(self) -> str:
        """One line for status bars, e.g. ``Not ready: paper out, head open``."""
        text = "Ready" if self.ready else "Not ready: " + ", ".join(self.problems)
        if self.warnings:
            text += " (warning: " + ", ".join(self.warnings) + ")"
        return text


def hs_complete(data: bytes) -> bool:
    """Return True once a ~HS reply holds its three ETX-terminated strings."""
    return data.count(ETX) >= 3


def hqes_complete(data: bytes) -> bool:
    """Return True once a ~HQES reply holds its ERRORS and WARNINGS lines."""
    text = data.decode("ascii", errors="replace")
    return bool(_HQES_ERRORS_RE.search(text) and _HQES_WARNINGS_RE.search(text))


def parse_hs(data: bytes) -> PrinterStatus:
    """Parse a ~HS reply (three ``<STX>...<ETX><CR><LF>`` strings)."""
    if not data.strip():
        return PrinterStatus.failed(NO_ANSWER)
    strings = re.findall(r"\x02([^\x02\x03]*)\x03", data.decode("ascii", errors="replace"))
    if len(strings) < 3:
        return PrinterStatus.failed(UNREADABLE)
    first = strings[0].strip().split(",")
    second = strings[1].strip().split(",")
    if len(first) != _HS1_FIELDS or len(second) < _HS2_MIN_FIELDS:
        return PrinterStatus.failed(UNREADABLE)
    try:
        problems = _flags(first, _HS1_PROBLEMS) + _flags(second, _HS2_PROBLEMS)
        warnings = _flags(first, _HS1_WARNINGS)
    except ValueError:
        return PrinterStatus.failed(UNREADABLE)
    if problems:
        return PrinterStatus.failed(*problems, warnings=warnings)
    return PrinterStatus.ok(*warnings)


def parse_hqes(data: bytes) -> PrinterStatus:
    """Parse a ~HQES reply (``ERRORS: f gggggggg hhhhhhhh`` / ``WARNINGS: ...``)."""
    if not data.strip():
        return PrinterStatus.failed(NO_ANSWER)
    text = data.decode("ascii", errors="replace")
    errors = _HQES_ERRORS_RE.search(text)
    warning_match = _HQES_WARNINGS_RE.search(text)
    if errors is None or warning_match is None:
        return PrinterStatus.failed(UNREADABLE)
    problems = _bits(errors, _HQES_ERRORS, "printer error")
    warnings = _bits(warning_match, _HQES_WARNINGS, "printer warning")
    if problems:
        return PrinterStatus.failed(*problems, warnings=warnings)
    return PrinterStatus.ok(*warnings)


def status_from_replies(hs: bytes, hqes: bytes | None) -> PrinterStatus:
    """Combine a ~HS reply with the ~HQES reply asked for when ~HS stayed silent.

    Zebra printers send no ~HS reply in paper-out, ribbon-out, head-open and head
    over-temperature states, so ~HQES names the fault. If ~HQES then claims no error, the
    printer is still not ready: it did not answer the status query.
    """
    if hs_complete(hs) or hqes is None:
        return parse_hs(hs)
    status = parse_hqes(hqes)
    if status.ready:
        return PrinterStatus.failed("printer did not answer the ~HS status query")
    return status


def parse_lpstat(output: str, returncode: int) -> PrinterStatus:
    """Parse ``LC_ALL=C lpstat -p QUEUE`` (stdout and stderr together)."""
    lowered = output.lower()
    if "scheduler is not running" in lowered:
        return PrinterStatus.failed("CUPS scheduler is not running")
    if returncode != 0 or not lowered.startswith("printer "):
        detail = output.strip().splitlines()[0] if output.strip() else "no output"
        return PrinterStatus.failed(f"CUPS queue unavailable ({detail})")
    first, *rest = output.strip().splitlines()
    reason = " ".join(line.strip() for line in rest if line.strip())
    if " disabled " in f" {first} ":
        return PrinterStatus.failed("CUPS queue is disabled" + (f": {reason}" if reason else ""))
    if " is idle" in first or " now printing" in first:
        return PrinterStatus.ok()
    return PrinterStatus.failed(f"unexpected CUPS queue state ({first.strip()})")


def _flags(fields: list[str], names: dict[int, str]) -> tuple[str, ...]:
    """Return the names of the flags set to 1; raise ValueError on a non-0/1 flag."""
    found = []
    for index, name in names.items():
        value = fields[index].strip()
        if value not in ("0", "1"):
            raise ValueError(f"flag {index} is {value!r}")
        if value == "1":
            found.append(name)
    return tuple(found)


def _bits(match: re.Match[str], names: dict[int, str], unknown: str) -> tuple[str, ...]:
    flag, high, low = match.group(1), int(match.group(2), 16), int(match.group(3), 16)
    found = [name for bit, name in names.items() if low & bit]
    known = sum(bit for bit in names if low & bit)
    if high or low & ~known:
        found.append(f"{unknown} code {high:08X} {low & ~known:08X}")
    if flag == "1" and not found:
        found.append(unknown)
    return tuple(found)
