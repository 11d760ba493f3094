"""Raw TCP printing and ~HS/~HQES status against a loopback fake Zebra."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fakes_printer import FakeZebra, ZebraState

from labdesk.domain.printing import LabelContent
from printers.errors import PrinterNotReady, PrinterUnreachable
from printers.jobs import print_labels
from printers.presets import get_preset
from printers.status import NO_ANSWER
from printers.tcp import TcpPrinter
from printers.transports import open_printer

pytestmark = pytest.mark.integration


def test_send_delivers_exact_bytes(fake_zebra: FakeZebra) -> None:
    payload = "^XA^CI28^FO10,10^A0N,28^FH^FDŁUKASIEWICZ, Józef^FS^XZ\n".encode()
    open_printer(fake_zebra.uri).send(payload)
    assert fake_zebra.wait_for_jobs(1) == [payload]


def test_print_labels_sends_zpl_for_each_label(
    fake_zebra: FakeZebra, make_content: Callable[..., LabelContent]
) -> None:
    printer = open_printer(fake_zebra.uri)
    job = print_labels(printer, [make_content(), make_content()], get_preset("2x1-203"), copies=2)
    (received,) = fake_zebra.wait_for_jobs(1)
    assert received == job.payload
    assert received.count(b"^XA") == 2
    assert received.count(b"^PQ2,0,1,Y") == 2
    assert job.preview_png is not None
    assert job.preview_png.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("state", "ready", "problems"),
    [
        (ZebraState.READY, True, ()),
        (ZebraState.PAPER_OUT, False, ("paper out",)),
        (ZebraState.HEAD_OPEN, False, ("head open",)),
        (ZebraState.PAUSED, False, ("paused",)),
    ],
)
def test_status_from_hs(
    fake_zebra: FakeZebra, state: ZebraState, ready: bool, problems: tuple[str, ...]
) -> None:
    fake_zebra.state = state
    status = open_printer(fake_zebra.uri).status()
    assert (status.ready, status.problems) == (ready, problems)
    assert fake_zebra.queries == [b"~HS"]


@pytest.mark.parametrize(
    ("state", "problem"), [(ZebraState.PAPER_OUT, "paper out"), (ZebraState.HEAD_OPEN, "head open")]
)
def test_status_falls_back_to_hqes_when_hs_is_silent(
    fake_zebra: FakeZebra, state: ZebraState, problem: str
) -> None:
    fake_zebra.state = state
    fake_zebra.realistic_faults = True
    status = TcpPrinter("127.0.0.1", fake_zebra.port, status_timeout=0.3).status()
    assert status.problems == (problem,)
    assert fake_zebra.queries == [b"~HS", b"~HQES"]


def test_silent_printer_is_not_ready(fake_zebra: FakeZebra) -> None:
    fake_zebra.state = ZebraState.SILENT
    started = time.monotonic()
    status = TcpPrinter("127.0.0.1", fake_zebra.port, status_timeout=0.2).status()
    assert not status.ready
    assert status.problems == (NO_ANSWER,)
    assert time.monotonic() - started < 2


def test_status_queries_are_not_recorded_as_jobs(fake_zebra: FakeZebra) -> None:
    printer = open_printer(fake_zebra.uri)
    printer.status()
    printer.send(b"^XA^XZ")
    assert fake_zebra.wait_for_jobs(1) == [b"^XA^XZ"]


def test_unreachable_printer_fails_fast(closed_port: int) -> None:
    printer = open_printer(f"tcp://127.0.0.1:{closed_port}")
    started = time.monotonic()
    with pytest.raises(PrinterUnreachable) as caught:
        printer.send(b"^XA^XZ")
    assert time.monotonic() - started < 2
    assert f"127.0.0.1:{closed_port}" in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)


def test_unreachable_printer_status_is_not_ready(closed_port: int) -> None:
    status = open_printer(f"tcp://127.0.0.1:{closed_port}").status()
    assert not status.ready
    assert "Cannot connect" in status.problems[0]


def test_printer_that_never_reads_gets_no_job(stalled_port: int) -> None:
    # It is asked ~HS before the job and never answers: not ready, and nothing is sent
    # (a printer that stops reading after answering times out: test_print_confirmation).
    printer = TcpPrinter("127.0.0.1", stalled_port, send_timeout=0.3, status_timeout=0.1)
    with pytest.raises(PrinterNotReady, match="nothing was sent"):
        printer.send(b"^XA" + b"x" * 64_000_000 + b"^XZ")
