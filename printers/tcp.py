"""Raw TCP (port 9100) transport for network Zebra printers."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Final

from printers.errors import PrinterError, PrinterOffline, PrinterTimeout, PrinterUnreachable
from printers.status import PrinterStatus, hqes_complete, hs_complete, status_from_replies

logger = logging.getLogger(__name__)

DEFAULT_PORT = 9100


class TcpPrinter:
    """A printer taking raw ZPL on a TCP port; each call opens and closes its own connection.

    Args:
        host: Printer host name or IP address.
        port: Raw printing port.
        connect_timeout: Seconds to wait for the connection.
        send_timeout: Seconds the printer may stall while taking the job.
        status_timeout: Seconds to wait for each status reply.
    """

    language: Final = "zpl"

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        connect_timeout: float = 3.0,
        send_timeout: float = 10.0,
        status_timeout: float = 2.0,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.status_timeout = status_timeout

    def __repr__(self) -> str:
        return f"TcpPrinter({self.host!r}, {self.port})"

    @property
    def address(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port}"

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        """Send one job.

        Raises:
            PrinterOffline: if no connection can be made (nothing was sent).
            PrinterUnreachable: if the connection drops while sending.
            PrinterTimeout: if the printer stops taking data for ``send_timeout`` seconds.
        """
        del preview_png  # A real printer has no use for the preview.
        with self._connect() as sock:
            sock.settimeout(self.send_timeout)
            try:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
            except TimeoutError as exc:
                raise PrinterTimeout(
                    f"The printer at {self.address} stopped taking data for "
                    f"{self.send_timeout:g} s.",
                    hint="Check the printer for paper, ribbon or an open head, then retry.",
                ) from exc
            except OSError as exc:
                raise PrinterUnreachable(
                    f"Connection to the printer at {self.address} was lost while sending: "
                    f"{exc.strerror or exc}.",
                    hint="Check the network cable and the printer, then retry.",
                ) from exc
        logger.info("Sent %d bytes to %s", len(payload), self.address)

    def status(self) -> PrinterStatus:
        """Ask ~HS (and ~HQES when ~HS stays silent); never raises for printer problems."""
        try:
            sock = self._connect(self.status_timeout)
        except PrinterError as exc:
            return PrinterStatus.failed(str(exc.message))
        with sock:
            hs = self._query(sock, b"~HS", hs_complete)
            hqes = None if hs_complete(hs) else self._query(sock, b"~HQES", hqes_complete)
        return status_from_replies(hs, hqes)

    def _connect(self, timeout: float | None = None) -> socket.socket:
        limit = self.connect_timeout if timeout is None else timeout
        try:
            return socket.create_connection((self.host, self.port), timeout=limit)
        except TimeoutError as exc:
            raise PrinterOffline(
                f"No answer from the printer at {self.address} within {limit:g} s.",
                hint="Check that the printer is on and on the network.",
            ) from exc
        except OSError as exc:
            raise PrinterOffline(
                f"Cannot connect to the printer at {self.address}: {exc.strerror or exc}.",
                hint="Check that the printer is on and that the address in settings is right.",
            ) from exc

    def _query(self, sock: socket.socket, command: bytes, done: Callable[[bytes], bool]) -> bytes:
        """Send ``command`` and collect the reply until ``done`` or the status timeout."""
        deadline = time.monotonic() + self.status_timeout
        reply = b""
        try:
            sock.sendall(command)
            while not done(reply):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(remaining)
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except OSError:  # Includes TimeoutError: a silent printer is reported, not raised.
            logger.debug("Status query %r to %s got no full answer", command, self.address)
        return reply
