"""Raw TCP (port 9100) transport for network Zebra printers."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Final

from labdesk.domain.printing import CHECK_THE_TUBE
from printers.errors import (
    PrinterError,
    PrinterNotReady,
    PrinterOffline,
    PrinterTimeout,
    PrinterUnconfirmed,
    PrinterUnreachable,
)
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
        confirm_timeout: Seconds to wait for the status reply that confirms a job
            (defaults to ``status_timeout``).
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
        confirm_timeout: float | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.status_timeout = status_timeout
        self.confirm_timeout = status_timeout if confirm_timeout is None else confirm_timeout

    def __repr__(self) -> str:
        return f"TcpPrinter({self.host!r}, {self.port})"

    @property
    def address(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port}"

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        """Send one job and return only once the printer confirmed it.

        On one connection: ``~HS`` first (a printer that is not ready gets nothing), then
        the job, then ``~HS`` again. TCP delivers in order, so a healthy answer to the
        second query proves every byte of the job reached the printer and that it can
        still print; no answer or a fault means the label may be missing or partial.

        Raises:
            PrinterOffline: if no connection can be made (nothing was sent).
            PrinterNotReady: if the printer is not ready or does not answer before the job
                (nothing of the job was sent).
            PrinterUnreachable: if the connection drops while sending.
            PrinterTimeout: if the printer stops taking data for ``send_timeout`` seconds.
            PrinterUnconfirmed: if the printer does not report a healthy state after the job.
        """
        del preview_png  # A real printer has no use for the preview.
        with self._connect() as sock:
            before = self._status_on(sock, self.status_timeout)
            if not before.ready:
                raise PrinterNotReady(
                    f"The printer at {self.address} is not ready ({', '.join(before.problems)}); "
                    "nothing was sent.",
                    hint="Load labels, close the head or unpause the printer; the job is sent "
                    "again automatically.",
                )
            self._write(sock, payload)
            after = self._status_on(sock, self.confirm_timeout)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        if not after.ready:
            raise PrinterUnconfirmed(
                f"The printer at {self.address} took the job but did not confirm it "
                f"({', '.join(after.problems)}).",
                hint=CHECK_THE_TUBE,
            )
        logger.info("Sent %d bytes to %s (confirmed)", len(payload), self.address)

    def status(self) -> PrinterStatus:
        """Ask ~HS (and ~HQES when ~HS stays silent); never raises for printer problems."""
        try:
            sock = self._connect(self.status_timeout)
        except PrinterError as exc:
            return PrinterStatus.failed(str(exc.message))
        with sock:
            return self._status_on(sock, self.status_timeout)

    def _status_on(self, sock: socket.socket, timeout: float) -> PrinterStatus:
        """~HS (and ~HQES when ~HS stays silent) on an open connection; silence: not ready."""
        hs = self._query(sock, b"~HS", hs_complete, timeout)
        hqes = None if hs_complete(hs) else self._query(sock, b"~HQES", hqes_complete, timeout)
        return status_from_replies(hs, hqes)

    def _write(self, sock: socket.socket, payload: bytes) -> None:
        """Write the whole job; any failure leaves it unconfirmed (part may have printed)."""
        sock.settimeout(self.send_timeout)
        try:
            sock.sendall(payload)
        except TimeoutError as exc:
            raise PrinterTimeout(
                f"The printer at {self.address} stopped taking data for {self.send_timeout:g} s.",
                hint=CHECK_THE_TUBE,
            ) from exc
        except OSError as exc:
            raise PrinterUnreachable(
                f"Connection to the printer at {self.address} was lost while sending: "
                f"{exc.strerror or exc}.",
                hint=CHECK_THE_TUBE,
            ) from exc

    def _connect(self, timeout: float | None = None) -> socket.socket:
        limit = self.connect_timeout if timeout is None else timeout
        try:
            sock = socket.create_connection((self.host, self.port), timeout=limit)
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
        # Without it, Nagle holds the small ~HS sent right behind a job until the printer
        # acknowledges the job's last segment, which a delayed ACK puts off by up to 40 ms
        # (about 300 ms for six labels). Each query is one write, so no tiny segments result.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _query(
        self, sock: socket.socket, command: bytes, done: Callable[[bytes], bool], timeout: float
    ) -> bytes:
        """Send ``command`` and collect the reply until ``done`` or ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
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
