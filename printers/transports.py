"""Printer transports chosen by URI: tcp://, cups://, file:// and pdf://."""

from __future__ import annotations

from typing import Literal, Protocol

from labdesk.domain.printer_address import (
    InvalidPrinterAddress,
    PrinterScheme,
    parse_printer_address,
)
from printers.cups import CupsPrinter
from printers.errors import PrinterConfigError
from printers.status import PrinterStatus
from printers.tcp import TcpPrinter
from printers.virtual import FilePrinter, PdfFilePrinter

Language = Literal["zpl", "pdf"]


class Printer(Protocol):
    """Anything that takes label jobs."""

    @property
    def language(self) -> Language:
        """What ``send`` expects: ``zpl`` (ZPL II bytes) or ``pdf`` (a PDF document)."""
        ...

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        """Deliver one job and return only once it is confirmed (the printer reported a
        healthy state after every byte, or the transport's own confirmation); otherwise
        raise a ``PrinterError`` subclass whose ``delivery`` says what became of the job."""
        ...

    def status(self) -> PrinterStatus:
        """Report readiness; unknown means not ready."""
        ...


def open_printer(uri: str) -> Printer:
    """Return the printer for ``uri`` without connecting to it.

    The address is checked by :func:`labdesk.domain.printer_address.parse_printer_address`,
    the one parser of every entry point. Accepted forms: ``tcp://HOST[:PORT][?timeout=SECONDS]``
    (port 9100 by default), ``cups://QUEUE``, ``file:///DIR`` and ``pdf:///FILE.pdf`` or
    ``pdf:///DIR``.

    Raises:
        PrinterConfigError: for a malformed or unsupported URI, saying what is wrong and how
            to write it.
    """
    try:
        address = parse_printer_address(uri)
    except InvalidPrinterAddress as exc:
        raise PrinterConfigError(exc.message, hint=exc.hint) from exc
    if address.scheme is PrinterScheme.TCP:
        if address.timeout is None:
            return TcpPrinter(address.host, address.port)
        timeout = address.timeout
        return TcpPrinter(
            address.host,
            address.port,
            connect_timeout=timeout,
            send_timeout=timeout,
            status_timeout=timeout,
        )
    if address.scheme is PrinterScheme.CUPS:
        return CupsPrinter(address.queue)
    assert address.path is not None  # file:// and pdf:// always carry one
    if address.scheme is PrinterScheme.FILE:
        return FilePrinter(address.path)
    return PdfFilePrinter(address.path)
