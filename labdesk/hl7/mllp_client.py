"""MLLP client for outbound messages, on python-hl7's asyncio streams (``hl7.mllp``).

Unlike ``hl7.client.MLLPClient`` (one ``recv``, which can return half an answer) this reads
the whole acknowledgement block. The connection is reused across sends and reopened after a
failure.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

from hl7.mllp import InvalidBlockError, open_hl7_connection

from labdesk.domain.errors import TransportError
from labdesk.hl7.parse import decode


class MllpTransport:
    """Sends messages to ``host:port`` and waits for each acknowledgement.

    Use as a context manager (it owns an event loop and a connection)::

        with MllpTransport("lab.example", 2575) as transport:
            send_due_messages(uow_factory, clock, transport)
    """

    def __init__(self, host: str, port: int, *, timeout_s: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: Any = None
        self._writer: Any = None

    def __enter__(self) -> MllpTransport:
        self._loop = asyncio.new_event_loop()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop = self._loop
        if loop is not None:
            loop.run_until_complete(self._close())
            loop.close()
        self._loop = None

    def send(self, payload: str) -> str:
        """Send one message; returns the acknowledgement text.

        Raises:
            TransportError: when the lab cannot be reached or does not answer in time.
        """
        if self._loop is None:
            raise RuntimeError("MllpTransport used outside its 'with' block")
        try:
            return self._loop.run_until_complete(self._send(payload))
        except (
            TimeoutError,
            OSError,
            asyncio.IncompleteReadError,
            InvalidBlockError,
            ValueError,
        ) as exc:
            self._loop.run_until_complete(self._close())
            what = "no answer in time" if isinstance(exc, asyncio.TimeoutError) else str(exc)
            raise TransportError(
                f"Cannot deliver to the lab at {self.host}:{self.port}: "
                f"{what or type(exc).__name__}.",
                hint="Check the lab's address and that its interface is running; the message "
                "stays queued and is tried again.",
            ) from exc

    async def _send(self, payload: str) -> str:
        if self._writer is None:
            self._reader, self._writer = await asyncio.wait_for(
                open_hl7_connection(self.host, self.port), self.timeout_s
            )
        self._writer.writeblock(payload.encode("utf-8"))
        await asyncio.wait_for(self._writer.drain(), self.timeout_s)
        block = await asyncio.wait_for(self._reader.readblock(), self.timeout_s)
        return decode(block)

    async def _close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                await writer.wait_closed()
