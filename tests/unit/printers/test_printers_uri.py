"""open_printer: URI parsing picks the transport and rejects bad addresses helpfully."""

from __future__ import annotations

from pathlib import Path

import pytest

from labdesk.domain.printer_address import EXAMPLES
from printers.cups import CupsPrinter
from printers.errors import PrinterConfigError
from printers.tcp import TcpPrinter
from printers.transports import open_printer
from printers.virtual import FilePrinter, PdfFilePrinter


def test_tcp_uri_with_default_port() -> None:
    printer = open_printer("tcp://10.0.0.7")
    assert isinstance(printer, TcpPrinter)
    assert (printer.host, printer.port) == ("10.0.0.7", 9100)
    assert printer.language == "zpl"


def test_tcp_uri_with_port_and_timeout() -> None:
    printer = open_printer("tcp://zebra.lab.local:6101?timeout=1.5")
    assert isinstance(printer, TcpPrinter)
    assert (printer.host, printer.port, printer.connect_timeout) == ("zebra.lab.local", 6101, 1.5)


def test_cups_uri() -> None:
    printer = open_printer("cups://Zebra_Lab")
    assert isinstance(printer, CupsPrinter)
    assert printer.queue == "Zebra_Lab"


def test_file_uri(tmp_path: Path) -> None:
    printer = open_printer(tmp_path.as_uri())
    assert isinstance(printer, FilePrinter)
    assert printer.directory == tmp_path


def test_pdf_uri(tmp_path: Path) -> None:
    printer = open_printer((tmp_path / "labels.pdf").as_uri().replace("file://", "pdf://"))
    assert isinstance(printer, PdfFilePrinter)
    assert printer.target == tmp_path / "labels.pdf"
    assert printer.language == "pdf"


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "zebra",
        "192.168.1.50:9100",
        "http://192.168.1.50",
        "tcp://",
        "tcp://host:notaport",
        "tcp://host:70000",
        "tcp://host?timeout=abc",
        "tcp://host?colour=red",
        "cups://",
        "file://relative/dir",
        "pdf:relative.pdf",
        "winspool://Zebra",
    ],
)
def test_bad_uri_gives_valid_examples(uri: str) -> None:
    with pytest.raises(PrinterConfigError) as caught:
        open_printer(uri)
    assert f"Invalid printer address '{uri}'" in str(caught.value)
    assert any(example in caught.value.hint for example in EXAMPLES)
