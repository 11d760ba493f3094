"""Printer transports chosen by URI: tcp://, cups://, file:// and pdf://."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit
from urllib.request import url2pathname

from printers.cups import CupsPrinter
from printers.errors import PrinterConfigError
from printers.status import PrinterStatus
from printers.tcp import DEFAULT_PORT, TcpPrinter
from printers.virtual import FilePrinter, PdfFilePrinter

Language = Literal["zpl", "pdf"]

EXAMPLE_URIS = (
    "tcp://192.168.1.50:9100",
    "cups://ZebraLab",
    "file:///var/tmp/labdesk-labels",
    "pdf:///home/clinic/labels.pdf",
)


class Printer(Protocol):
    """Anything that takes label jobs."""

    @property
    def language(self) -> Language:
        """What ``send`` expects: ``zpl`` (ZPL II bytes) or ``pdf`` (a PDF document)."""
        ...

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        """Deliver one job; raise a ``PrinterError`` subclass on failure."""
        ...

    def status(self) -> PrinterStatus:
        """Report readiness; unknown means not ready."""
        ...


def open_printer(uri: str) -> Printer:
    """Return the printer for ``uri`` without connecting to it.

    Accepted forms: ``tcp://HOST[:PORT][?timeout=SECONDS]`` (port 9100 by default),
    ``cups://QUEUE``, ``file:///DIR`` and ``pdf:///FILE.pdf`` or ``pdf:///DIR``.

    Raises:
        PrinterConfigError: for a malformed or unsupported URI, with valid examples.
    """
    parts = urlsplit(uri.strip())
    scheme = parts.scheme.lower()
    if scheme == "tcp":
        return _tcp(uri, parts.hostname, parts.query, _port(uri, parts))
    if scheme == "cups":
        queue = unquote(parts.netloc or parts.path.strip("/"))
        if not queue or "/" in queue:
            raise _bad(uri, "a cups:// address names one CUPS queue")
        return CupsPrinter(queue)
    if scheme in ("file", "pdf"):
        path = _local_path(uri, parts.netloc, parts.path)
        return FilePrinter(path) if scheme == "file" else PdfFilePrinter(path)
    # Seam for Windows: a "winspool://Printer Name" scheme would open the queue with
    # win32print.OpenPrinter and send the bytes between StartDocPrinter(..., "RAW") and
    # EndDocPrinter, the Windows equivalent of `lp -o raw`. Not implemented yet.
    raise _bad(uri, f"unsupported scheme '{parts.scheme}'" if parts.scheme else "no scheme")


def _tcp(uri: str, host: str | None, query: str, port: int) -> TcpPrinter:
    if not host:
        raise _bad(uri, "a tcp:// address needs a host")
    options = parse_qs(query)
    if set(options) - {"timeout"}:
        raise _bad(uri, "the only tcp:// option is ?timeout=SECONDS")
    if "timeout" not in options:
        return TcpPrinter(host, port)
    try:
        timeout = float(options["timeout"][-1])
    except ValueError:
        timeout = 0.0
    if not 0 < timeout <= 600:
        raise _bad(uri, "timeout must be a number of seconds between 0 and 600")
    return TcpPrinter(
        host, port, connect_timeout=timeout, send_timeout=timeout, status_timeout=timeout
    )


def _port(uri: str, parts: SplitResult) -> int:
    try:
        port = parts.port  # A property that raises ValueError when malformed.
    except ValueError:
        raise _bad(uri, "the port must be a number from 1 to 65535") from None
    if port is None:
        return DEFAULT_PORT
    if not 1 <= port <= 65535:
        raise _bad(uri, "the port must be a number from 1 to 65535")
    return port


def _local_path(uri: str, netloc: str, path: str) -> Path:
    if netloc not in ("", "localhost"):
        raise _bad(uri, "use three slashes and an absolute path, e.g. file:///var/tmp/labels")
    local = Path(url2pathname(unquote(path)))
    if not path or not local.is_absolute():
        raise _bad(uri, "the path must be absolute")
    return local


def _bad(uri: str, why: str) -> PrinterConfigError:
    return PrinterConfigError(
        f"Invalid printer address '{uri}': {why}.",
        hint="Valid examples: " + ", ".join(EXAMPLE_URIS) + ".",
    )
