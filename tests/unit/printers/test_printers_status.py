"""Status parsing: ~HS, ~HQES and lpstat. Unknown or garbled always means not ready."""

from __future__ import annotations

import pytest

from printers.status import (
    NO_ANSWER,
    UNREADABLE,
    PrinterStatus,
    hqes_complete,
    hs_complete,
    parse_hqes,
    parse_hs,
    parse_lpstat,
    status_from_replies,
)


def hs(
    paper_out: str = "0",
    paused: str = "0",
    buffer_full: str = "0",
    under: str = "0",
    over: str = "0",
    ram: str = "0",
    head_open: str = "0",
    ribbon_out: str = "0",
) -> bytes:
    """Build a ~HS reply as a ZT410 sends it (three STX...ETX CRLF strings)."""
    first = f"030,{paper_out},{paused},1218,000,{buffer_full},0,0,000,{ram},{under},{over}"
    second = f"001,0,{head_open},{ribbon_out},1,2,6,0,00000000,1,000"
    return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (first, second, "1234,0"))


HQES_HEAD_OPEN = (
    b"\x02\r\n  PRINTER STATUS\r\n   ERRORS:         1 00000000 00000004\r\n"
    b"   WARNINGS:       0 00000000 00000000\r\n\x03\r\n"
)
HQES_OK = (
    b"\x02\r\n  PRINTER STATUS\r\n   ERRORS:         0 00000000 00000000\r\n"
    b"   WARNINGS:       0 00000000 00000000\r\n\x03\r\n"
)


def test_ready_printer() -> None:
    status = parse_hs(hs())
    assert status == PrinterStatus(ready=True)
    assert status.summary == "Ready"


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        pytest.param(hs(paper_out="1"), "paper out", id="paper-out"),
        pytest.param(hs(head_open="1"), "head open", id="head-open"),
        pytest.param(hs(paused="1"), "paused", id="paused"),
        pytest.param(hs(ribbon_out="1"), "ribbon out", id="ribbon-out"),
        pytest.param(hs(buffer_full="1"), "receive buffer full", id="buffer-full"),
        pytest.param(hs(over="1"), "printhead over temperature", id="over-temp"),
        pytest.param(hs(ram="1"), "corrupt RAM (configuration lost)", id="corrupt-ram"),
    ],
)
def test_hs_fault_flags(reply: bytes, problem: str) -> None:
    status = parse_hs(reply)
    assert not status.ready
    assert status.problems == (problem,)
    assert status.summary == f"Not ready: {problem}"


def test_several_faults_are_all_named() -> None:
    status = parse_hs(hs(paper_out="1", paused="1", head_open="1"))
    assert status.problems == ("paper out", "paused", "head open")


def test_under_temperature_is_a_warning_only() -> None:
    status = parse_hs(hs(under="1"))
    assert status.ready
    assert status.warnings == ("printhead under temperature",)
    assert "warning" in status.summary


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        pytest.param(b"", NO_ANSWER, id="empty"),
        pytest.param(b"\r\n", NO_ANSWER, id="blank"),
        pytest.param(b"HTTP/1.1 400 Bad Request\r\n\r\n", UNREADABLE, id="http"),
        pytest.param(b"\x02030,0,0\x03\r\n", UNREADABLE, id="one-string"),
        pytest.param(hs()[:40], UNREADABLE, id="truncated"),
        pytest.param(hs(paper_out="X"), UNREADABLE, id="bad-flag"),
        pytest.param(b"\x02a\x03\x02b\x03\x02c\x03", UNREADABLE, id="wrong-fields"),
        pytest.param(bytes(range(256)), UNREADABLE, id="binary"),
    ],
)
def test_garbage_is_never_healthy(reply: bytes, problem: str) -> None:
    status = parse_hs(reply)
    assert not status.ready
    assert status.problems == (problem,)


def test_hs_complete_needs_three_strings() -> None:
    reply = hs()
    assert hs_complete(reply)
    assert not hs_complete(reply[: reply.index(b"\x03") + 1])


def test_hqes_head_open() -> None:
    status = parse_hqes(HQES_HEAD_OPEN)
    assert not status.ready
    assert status.problems == ("head open",)


@pytest.mark.parametrize(
    ("bits", "problems"),
    [
        (0x1, ("paper out",)),
        (0x2, ("ribbon out",)),
        (0x5, ("paper out", "head open")),
        (0x10, ("printhead over temperature",)),
        (0x200, ("printhead thermistor open",)),
        (0x1000, ("printer error code 00000000 00001000",)),
    ],
)
def test_hqes_error_bits(bits: int, problems: tuple[str, ...]) -> None:
    reply = f"ERRORS: 1 00000000 {bits:08X}\r\nWARNINGS: 0 00000000 00000000\r\n".encode()
    assert parse_hqes(reply).problems == problems


def test_hqes_warnings_keep_printer_ready() -> None:
    reply = b"ERRORS: 0 00000000 00000000\r\nWARNINGS: 1 00000000 00000008\r\n"
    status = parse_hqes(reply)
    assert status.ready
    assert status.warnings == ("paper near end",)


def test_hqes_error_flag_without_bits_is_still_an_error() -> None:
    reply = b"ERRORS: 1 00000000 00000000\r\nWARNINGS: 0 00000000 00000000\r\n"
    assert parse_hqes(reply).problems == ("printer error",)


@pytest.mark.parametrize("reply", [b"", b"PRINTER STATUS\r\n", b"ERRORS: 0 00000000 00000000"])
def test_hqes_incomplete_is_not_ready(reply: bytes) -> None:
    assert not hqes_complete(reply) or not parse_hqes(reply).ready
    assert not parse_hqes(reply).ready


def test_silent_hs_then_hqes_names_the_fault() -> None:
    assert status_from_replies(b"", HQES_HEAD_OPEN).problems == ("head open",)


def test_silent_hs_with_clean_hqes_is_not_ready() -> None:
    status = status_from_replies(b"", HQES_OK)
    assert not status.ready
    assert "~HS" in status.problems[0]


def test_silent_on_both_queries_is_no_answer() -> None:
    assert status_from_replies(b"", b"").problems == (NO_ANSWER,)


def test_status_invariant() -> None:
    with pytest.raises(ValueError, match="ready"):
        PrinterStatus(ready=True, problems=("paper out",))
    with pytest.raises(ValueError, match="ready"):
        PrinterStatus(ready=False)
    assert PrinterStatus.failed().problems == (NO_ANSWER,)


@pytest.mark.parametrize(
    ("output", "code", "ready", "problem"),
    [
        pytest.param(
            "printer ZebraLab is idle.  enabled since Mon 02 Mar 2026 09:00:00 AM UTC\n",
            0,
            True,
            None,
            id="idle",
        ),
        pytest.param(
            "printer ZebraLab now printing ZebraLab-12.  enabled since Mon 02 Mar 2026\n",
            0,
            True,
            None,
            id="printing",
        ),
        pytest.param(
            "printer ZebraLab disabled since Mon 02 Mar 2026 09:00:00 AM UTC -\n"
            "\tPaused by operator\n",
            0,
            False,
            "CUPS queue is disabled: Paused by operator",
            id="disabled",
        ),
        pytest.param(
            "lpstat: Scheduler is not running.\n",
            1,
            False,
            "CUPS scheduler is not running",
            id="scheduler-down",
        ),
        pytest.param(
            'lpstat: Invalid destination name in list "Nope".\n',
            1,
            False,
            'CUPS queue unavailable (lpstat: Invalid destination name in list "Nope".)',
            id="unknown-queue",
        ),
        pytest.param("", 0, False, "CUPS queue unavailable (no output)", id="empty"),
    ],
)
def test_lpstat(output: str, code: int, ready: bool, problem: str | None) -> None:
    status = parse_lpstat(output, code)
    assert status.ready is ready
    if problem is not None:
        assert status.problems == (problem,)
