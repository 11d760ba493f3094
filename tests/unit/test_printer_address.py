"""Printer address validation (issue 11 item 7): one parser for every entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from labdesk.config import ConfigError, load_config
from labdesk.domain.printer_address import (
    InvalidPrinterAddress,
    PrinterAddress,
    PrinterScheme,
    parse_printer_address,
)
from printers.errors import PrinterConfigError
from printers.tcp import TcpPrinter
from printers.transports import open_printer

TCP, CUPS, FILE, PDF = PrinterScheme


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "tcp://printer-1.clinic.example:9100",
            PrinterAddress(scheme=TCP, host="printer-1.clinic.example", port=9100),
        ),
        ("tcp://[2001:db8::1]:9100", PrinterAddress(scheme=TCP, host="2001:db8::1", port=9100)),
        ("tcp://[2001:db8::1]", PrinterAddress(scheme=TCP, host="2001:db8::1", port=9100)),
        ("tcp://192.0.2.10", PrinterAddress(scheme=TCP, host="192.0.2.10", port=9100)),
        ("tcp://zebra:1", PrinterAddress(scheme=TCP, host="zebra", port=1)),
        ("tcp://zebra:65535/", PrinterAddress(scheme=TCP, host="zebra", port=65535)),
        (
            "  TCP://Zebra.LAB:6101?timeout=2.5 ",
            PrinterAddress(scheme=TCP, host="Zebra.LAB", port=6101, timeout=2.5),
        ),
        ("cups://Zebra_GK420", PrinterAddress(scheme=CUPS, queue="Zebra_GK420")),
        ("cups://lab-2.raw", PrinterAddress(scheme=CUPS, queue="lab-2.raw")),
        ("cups:///Zebra_GK420/", PrinterAddress(scheme=CUPS, queue="Zebra_GK420")),
        ("file:///var/tmp/labels", PrinterAddress(scheme=FILE, path=Path("/var/tmp/labels"))),
        ("file://localhost/var/tmp", PrinterAddress(scheme=FILE, path=Path("/var/tmp"))),
        ("pdf:///srv/a%20b.pdf", PrinterAddress(scheme=PDF, path=Path("/srv/a b.pdf"))),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_good_addresses_are_split_into_their_parts(uri: str, expected: PrinterAddress) -> None:
    assert parse_printer_address(uri) == expected


@pytest.mark.parametrize(
    ("uri", "problem", "example"),
    [
        ("tcp://;rm -rf /:99999", "';rm -rf ' is not a valid host name", "tcp://192.0.2.10:9100"),
        ("tcp://host:0", "port 0 is out of range: use 1–65535", "tcp://192.0.2.10:9100"),
        ("tcp://host:65536", "port 65536 is out of range: use 1–65535", "tcp://192.0.2.10:9100"),
        ("tcp://host:99999", "port 99999 is out of range: use 1–65535", "tcp://192.0.2.10:9100"),
        ("tcp://host:", "the port after ':' is missing", "tcp://192.0.2.10:9100"),
        ("tcp://host:91a", "port '91a' is not a number", "tcp://192.0.2.10:9100"),
        ("tcp://host:-1", "port '-1' is not a number", "tcp://192.0.2.10:9100"),
        ("tcp://", "needs a host", "tcp://192.0.2.10:9100"),
        ("tcp://bad_host", "'bad_host' is not a valid host name", "tcp://192.0.2.10:9100"),
        ("tcp://-zebra", "'-zebra' is not a valid host name", "tcp://192.0.2.10:9100"),
        ("tcp://zebra-.lab", "'zebra-.lab' is not a valid host name", "tcp://192.0.2.10:9100"),
        ("tcp://zebra..lab", "'zebra..lab' is not a valid host name", "tcp://192.0.2.10:9100"),
        ("tcp://" + "a" * 64, "is not a valid host name", "tcp://192.0.2.10:9100"),
        ("tcp://300.1.2.3", "'300.1.2.3' is not a valid IPv4 address", "tcp://192.0.2.10"),
        ("tcp://2001:db8::1", "an IPv6 address goes in square brackets", "[2001:db8::1]"),
        ("tcp://[2001:db8::1", "an IPv6 address goes in square brackets", "[2001:db8::1]"),
        ("tcp://[2001:zz::1]:9100", "not a valid IPv6 address", "[2001:db8::1]"),
        ("tcp://host/queue", "only a host, a port and ?timeout=", "tcp://192.0.2.10:9100"),
        ("tcp://host#x", "only a host, a port and ?timeout=", "tcp://192.0.2.10:9100"),
        ("tcp://admin@host", "no user name or password", "tcp://192.0.2.10:9100"),
        ("tcp://host?colour=red", "the only tcp:// option is ?timeout=SECONDS", "?timeout=5"),
        ("tcp://host?timeout=0", "timeout must be a number of seconds", "?timeout=5"),
        ("tcp://host?timeout=nan", "timeout must be a number of seconds", "?timeout=5"),
        ("tcp://ho\nst", "control character", "tcp://192.0.2.10:9100"),
        ("cups://bad name", "'bad name' is not a valid CUPS queue name", "cups://Zebra_GK420"),
        ("cups://a/b", "'a/b' is not a valid CUPS queue name", "cups://Zebra_GK420"),
        ("cups://Zebra#2", "'Zebra#2' is not a valid CUPS queue name", "cups://Zebra_GK420"),
        ("cups://Zebra%3Bls", "'Zebra;ls' is not a valid CUPS queue name", "cups://Zebra_GK420"),
        ("cups://", "needs a queue name", "cups://Zebra_GK420"),
        ("file://", "the path is empty", "file:///var/tmp/labdesk-labels"),
        ("file:///", "the path is empty", "file:///var/tmp/labdesk-labels"),
        ("pdf://", "the path is empty", "pdf:///srv/labdesk/documents"),
        ("file://relative/dir", "'relative' is not part of a local path", "file:///var/tmp"),
        ("pdf:///a#b.pdf", "write '?' as %3F and '#' as %23", "pdf:///srv/labdesk/documents"),
        ("pdf:///a%00.pdf", "the path contains a control character", "pdf:///srv/labdesk"),
        ("file://[x/labels", "a local path needs three slashes", "file:///var/tmp"),
        ("", "it is empty", "tcp://192.0.2.10:9100"),
        ("192.0.2.10:9100", "does not start with tcp://", "cups://Zebra_GK420"),
        ("pdf:relative.pdf", "'pdf:' must be followed by two slashes", "pdf:///srv/labdesk"),
        ("http://printer", "'http://' is not supported", "tcp://192.0.2.10:9100"),
    ],
    ids=repr,
)
def test_bad_addresses_say_what_is_wrong_and_how_to_write_it(
    uri: str, problem: str, example: str
) -> None:
    with pytest.raises(InvalidPrinterAddress) as caught:
        parse_printer_address(uri)
    error = caught.value
    assert error.message.startswith(f"Invalid printer address '{uri.strip()}': ")
    assert problem in error.message
    assert example in str(error)
    assert error.hint  # the form to use, with examples


def test_the_transport_factory_refuses_what_the_parser_refuses() -> None:
    with pytest.raises(PrinterConfigError) as caught:
        open_printer("tcp://;rm -rf /:99999")
    assert "';rm -rf ' is not a valid host name" in str(caught.value)
    assert isinstance(caught.value.__cause__, InvalidPrinterAddress)


def test_the_transport_factory_opens_an_ipv6_printer() -> None:
    printer = open_printer("tcp://[2001:db8::1]:6101")
    assert isinstance(printer, TcpPrinter)
    assert (printer.host, printer.port) == ("2001:db8::1", 6101)


@pytest.mark.parametrize(
    ("setting", "env"),
    [
        ('label_printer_uri = "tcp://;rm -rf /:99999"', {}),
        ("", {"LABDESK_DOCUMENT_PRINTER": "cups://bad name"}),
    ],
    ids=["file", "environment"],
)
def test_config_refuses_a_bad_printer_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, env: dict[str, str]
) -> None:
    for name in ("LABDESK_LABEL_PRINTER", "LABDESK_DOCUMENT_PRINTER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    file = tmp_path / "config.toml"
    file.write_text(f"[labdesk]\n{setting}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="Invalid printer address") as caught:
        load_config(file)
    assert "e.g." in caught.value.hint


def test_config_keeps_a_good_printer_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LABDESK_LABEL_PRINTER", raising=False)
    monkeypatch.setenv("LABDESK_DOCUMENT_PRINTER", "pdf:///srv/labdesk/documents")
    file = tmp_path / "config.toml"
    file.write_text('[labdesk]\nlabel_printer_uri = "cups://Zebra_GK420"\n', encoding="utf-8")
    config = load_config(file)
    assert (config.label_printer_uri, config.document_printer_uri) == (
        "cups://Zebra_GK420",
        "pdf:///srv/labdesk/documents",
    )
