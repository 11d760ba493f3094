"""Printer addresses (tcp://, cups://, file://, pdf://): the one parser every entry point uses.

The admin panel, the command line (``--printer``), the config file and the spooler all open
printers through :func:`parse_printer_address` (via ``printers.transports.open_printer``),
so an address is accepted or refused the same way everywhere. Nothing here connects to a
printer. Addresses are checked strictly: a printer address ends up in a socket call or on
the ``lp`` command line, so anything that is not plainly a host, port, queue or path is
refused with a message saying how to write it (issue 11, item 7).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from urllib.request import url2pathname

from labdesk.domain.errors import ValidationError

DEFAULT_TCP_PORT = 9100
MAX_TIMEOUT_SECONDS = 600.0
MAX_HOST_LENGTH = 253
MAX_QUEUE_LENGTH = 127

TCP_EXAMPLE = "tcp://192.0.2.10:9100"
CUPS_EXAMPLE = "cups://Zebra_GK420"
FILE_EXAMPLE = "file:///var/tmp/labdesk-labels"
PDF_EXAMPLE = "pdf:///srv/labdesk/documents"
EXAMPLES = (TCP_EXAMPLE, CUPS_EXAMPLE, FILE_EXAMPLE, PDF_EXAMPLE)

TCP_FORM = (
    f"Write tcp://HOST[:PORT][?timeout=SECONDS], e.g. {TCP_EXAMPLE}, "
    "tcp://printer-1.clinic.example:9100 or tcp://[2001:db8::1]:9100 (port 9100 if left out)."
)
CUPS_FORM = (
    f"Write cups://QUEUE with the name of the CUPS queue, e.g. {CUPS_EXAMPLE} "
    "('lpstat -p' lists the queues)."
)
PATH_FORM = (
    f"Write three slashes and an absolute path, e.g. {FILE_EXAMPLE} (a folder for label "
    f"files) or {PDF_EXAMPLE} or pdf:///srv/labdesk/labels.pdf (documents)."
)
ANY_FORM = "Valid examples: " + ", ".join(EXAMPLES) + "."
_BRACKETS = "an IPv6 address goes in square brackets"

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_NUMERIC = re.compile(r"[0-9.]+")
_QUEUE = re.compile(r"[A-Za-z0-9_.-]+")


class PrinterScheme(StrEnum):
    """How a printer is reached."""

    TCP = "tcp"
    """Raw ZPL to port 9100 of a network printer."""
    CUPS = "cups"
    """A raw CUPS queue (``lp -o raw``)."""
    FILE = "file"
    """A virtual label printer: one file per job in a folder."""
    PDF = "pdf"
    """Documents as PDF files: one file, or one per job in a folder."""


@dataclass(frozen=True, kw_only=True)
class PrinterAddress:
    """A checked printer address; only the fields of its ``scheme`` are set."""

    scheme: PrinterScheme
    host: str = ""
    """tcp://: a host name (RFC 1123) or an IP address, without brackets."""
    port: int = DEFAULT_TCP_PORT
    timeout: float | None = None
    """tcp://: seconds to wait for the printer, or None for the transport's defaults."""
    queue: str = ""
    """cups://: the CUPS queue name."""
    path: Path | None = None
    """file:// and pdf://: an absolute local path."""


class InvalidPrinterAddress(ValidationError):
    """A printer address that is malformed or unsupported; says what is wrong and the form."""

    def __init__(self, uri: str, problem: str, form: str) -> None:
        super().__init__(f"Invalid printer address '{uri.strip()}': {problem}.", hint=form)
        self.uri = uri
        self.problem = problem


def parse_printer_address(uri: str) -> PrinterAddress:
    """Check ``uri`` and split it into its parts (no connection is made).

    Accepted forms: ``tcp://HOST[:PORT][?timeout=SECONDS]``, ``cups://QUEUE``,
    ``file:///DIR`` and ``pdf:///FILE.pdf`` or ``pdf:///DIR``.

    Raises:
        InvalidPrinterAddress: naming the problem, with the form to use and an example.
    """
    text = uri.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidPrinterAddress(uri, "it contains a control character", ANY_FORM)
    scheme, separator, rest = text.partition("://")
    scheme = scheme.lower()
    if separator and scheme == PrinterScheme.TCP:
        return _tcp(uri, rest)
    if separator and scheme == PrinterScheme.CUPS:
        return PrinterAddress(scheme=PrinterScheme.CUPS, queue=_queue(uri, rest))
    if separator and scheme in (PrinterScheme.FILE, PrinterScheme.PDF):
        path = _local_path(uri, text)
        return PrinterAddress(scheme=PrinterScheme(scheme), path=path)
    # Seam for Windows: a "winspool://Printer Name" scheme would open the queue with
    # win32print.OpenPrinter and send the bytes between StartDocPrinter(..., "RAW") and
    # EndDocPrinter, the Windows equivalent of `lp -o raw`. Not implemented yet.
    raise InvalidPrinterAddress(uri, _scheme_problem(text, separator, scheme), ANY_FORM)


def _scheme_problem(text: str, separator: str, scheme: str) -> str:
    if not text:
        return "it is empty"
    if separator:
        return f"'{scheme}://' is not supported: use tcp://, cups://, file:// or pdf://"
    head = text.partition(":")[0].lower()
    if head in tuple(PrinterScheme):
        return f"'{head}:' must be followed by two slashes, as in '{head}://'"
    return "it does not start with tcp://, cups://, file:// or pdf://"


# ------------------------------------------------------------------ tcp://


def _tcp(uri: str, rest: str) -> PrinterAddress:
    """Split ``rest`` (after ``tcp://``) by hand: urlsplit hides which part is wrong."""
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    host, port_text = _split_host_port(uri, netloc)
    port = _port(uri, port_text)
    path, _, query = tail.partition("?")
    if path not in ("", "/") or "#" in tail:
        raise InvalidPrinterAddress(
            uri, "a tcp:// address holds only a host, a port and ?timeout=SECONDS", TCP_FORM
        )
    return PrinterAddress(
        scheme=PrinterScheme.TCP, host=host, port=port, timeout=_timeout(uri, query)
    )


def _split_host_port(uri: str, netloc: str) -> tuple[str, str | None]:
    """``(host, port text or None)`` of ``netloc``, the host checked."""
    if "@" in netloc:
        raise InvalidPrinterAddress(
            uri, "a tcp:// address takes no user name or password", TCP_FORM
        )
    if netloc.startswith("["):
        inside, bracket, after = netloc[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise InvalidPrinterAddress(uri, _BRACKETS, TCP_FORM)
        try:
            if "%" in inside:  # zone IDs would need percent-decoding and an interface
                raise ValueError(inside)
            ipaddress.IPv6Address(inside)
        except ValueError:
            raise InvalidPrinterAddress(
                uri, f"'{inside}' is not a valid IPv6 address", TCP_FORM
            ) from None
        return inside, after[1:] if after else None
    if netloc.count(":") > 1:
        raise InvalidPrinterAddress(uri, _BRACKETS, TCP_FORM)
    host, colon, port = netloc.partition(":")
    _check_host(uri, host)
    return host, port if colon else None


def _check_host(uri: str, host: str) -> None:
    """Refuse anything but an RFC 1123 host name or a dotted IPv4 address."""
    if not host:
        raise InvalidPrinterAddress(uri, "a tcp:// address needs a host", TCP_FORM)
    if _NUMERIC.fullmatch(host):  # RFC 1123 2.1: all-numeric names are IPv4 addresses
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise InvalidPrinterAddress(
                uri, f"'{host}' is not a valid IPv4 address (four numbers 0–255)", TCP_FORM
            ) from None
        return
    if len(host) > MAX_HOST_LENGTH or not all(_LABEL.fullmatch(p) for p in host.split(".")):
        raise InvalidPrinterAddress(
            uri,
            f"'{host}' is not a valid host name: use letters, digits and hyphens separated "
            "by dots (no spaces or other signs), or an IP address",
            TCP_FORM,
        )


def _port(uri: str, text: str | None) -> int:
    if text is None:
        return DEFAULT_TCP_PORT
    if not text.isascii() or not text.isdigit():
        problem = "the port after ':' is missing" if not text else f"port '{text}' is not a number"
        raise InvalidPrinterAddress(uri, f"{problem}: use 1–65535", TCP_FORM)
    port = int(text)
    if not 1 <= port <= 65535:
        raise InvalidPrinterAddress(uri, f"port {port} is out of range: use 1–65535", TCP_FORM)
    return port


def _timeout(uri: str, query: str) -> float | None:
    options = parse_qs(query, keep_blank_values=True)
    if set(options) - {"timeout"} or (query and not options):
        raise InvalidPrinterAddress(
            uri, "the only tcp:// option is ?timeout=SECONDS, e.g. ?timeout=5", TCP_FORM
        )
    if "timeout" not in options:
        return None
    try:
        timeout = float(options["timeout"][-1])
    except ValueError:
        timeout = 0.0
    if not 0 < timeout <= MAX_TIMEOUT_SECONDS:  # also refuses nan and inf
        raise InvalidPrinterAddress(
            uri,
            f"timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECONDS:g}, "
            "e.g. ?timeout=5",
            TCP_FORM,
        )
    return timeout


# ------------------------------------------------------------------ cups://


def _queue(uri: str, rest: str) -> str:
    """The queue name of ``cups://QUEUE`` (``cups:///QUEUE`` and a trailing slash work too)."""
    queue = unquote(rest.strip("/"))
    if not queue:
        raise InvalidPrinterAddress(uri, "a cups:// address needs a queue name", CUPS_FORM)
    if len(queue) > MAX_QUEUE_LENGTH or not _QUEUE.fullmatch(queue):
        raise InvalidPrinterAddress(
            uri,
            f"'{queue}' is not a valid CUPS queue name: use at most {MAX_QUEUE_LENGTH} "
            "letters, digits, '_', '-' and '.' (no spaces, slashes or '#')",
            CUPS_FORM,
        )
    return queue


# ------------------------------------------------------------------ file:// and pdf://


def _local_path(uri: str, text: str) -> Path:
    try:
        parts = urlsplit(text)
    except ValueError:  # brackets where a host would be
        raise InvalidPrinterAddress(uri, "a local path needs three slashes", PATH_FORM) from None
    if parts.netloc not in ("", "localhost"):
        raise InvalidPrinterAddress(
            uri, f"'{parts.netloc}' is not part of a local path (use three slashes)", PATH_FORM
        )
    if parts.query or parts.fragment or "#" in uri:
        raise InvalidPrinterAddress(uri, "write '?' as %3F and '#' as %23 in a path", PATH_FORM)
    if parts.path in ("", "/"):
        raise InvalidPrinterAddress(uri, "the path is empty", PATH_FORM)
    decoded = url2pathname(parts.path)  # decodes %XX too
    if any(ord(c) < 32 or ord(c) == 127 for c in decoded):
        raise InvalidPrinterAddress(uri, "the path contains a control character", PATH_FORM)
    local = Path(decoded)
    if not local.is_absolute():
        raise InvalidPrinterAddress(uri, "the path must be absolute", PATH_FORM)
    return local
