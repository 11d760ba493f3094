"""The inbound MLLP listener, on python-hl7's asyncio server (``hl7.mllp``).

:class:`Hl7Listener` runs the event loop in its own thread, so the headless command
(``labdesk hl7 serve``) and the desktop app use the same object: ``start()``, ``stop()``,
``stats()``. Database work runs on one worker thread, so messages are applied in the order
they arrive and the event loop stays free for other connections.

Group commit: frames that arrive while a transaction is running wait for it, then go
together (up to ``max_group`` frames) into the next one
(:meth:`~labdesk.interface.ingest.Ingestor.handle_frames`). Each answer is still sent only after
the commit that stored its message; a lone frame on an idle listener is applied at once.

Bad input never stops the listener: garbage before a start block, an oversized frame, a
frame cut off by the peer or left unfinished by a silent client all become dead letters
(answered with AR when the connection is still open).

Exposure is explicit. The listener binds 127.0.0.1 unless told otherwise and takes
connections only from loopback, or, when ``allowed_peers`` (config ``hl7_allowed_peers``)
is given, from exactly those addresses or networks; any other peer is disconnected before a
byte is read. Binding an address other computers can reach without allowed peers is refused
at start. MLLP has no
encryption: across a network, carry it through a TLS tunnel (stunnel, an SSH tunnel or a
VPN) ending on this computer, so the listener itself stays on 127.0.0.1 (see README).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from hl7.mllp import InvalidBlockError, start_hl7_server

from labdesk.domain.errors import LabdeskError
from labdesk.domain.hl7 import AckCode
from labdesk.interface.ingest import FrameReply, Ingestor

logger = logging.getLogger(__name__)

DEFAULT_PORT = 2575
DEFAULT_HOST = "127.0.0.1"
MAX_GROUP = 100
"""Frames applied in one transaction at most (bounds the wait of the first in a group)."""


class ListenerError(LabdeskError):
    """The listener could not start (port in use, bad address)."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_peers(peers: Sequence[str]) -> tuple[Network, ...]:
    """Allowed peers (``10.1.2.3``, ``10.1.0.0/16``, ``::1``) as networks.

    Raises:
        ListenerError: naming the entry that is not an address or network.
    """
    networks: list[Network] = []
    for peer in peers:
        try:
            networks.append(ipaddress.ip_network(peer.strip(), strict=False))
        except ValueError as exc:
            raise ListenerError(
                f"'{peer}' in hl7_allowed_peers is not an IP address or network.",
                hint='Write addresses or networks, e.g. hl7_allowed_peers = ["10.1.2.3", '
                '"10.1.0.0/24"].',
            ) from exc
    return tuple(networks)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: may be reachable from elsewhere


LOOPBACK = ("127.0.0.0/8", "::1")


def peer_allowed(address: str, allowed: Sequence[Network]) -> bool:
    """True when the peer's address is inside one of ``allowed``."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in allowed)


@dataclass(frozen=True)
class ListenerStats:
    """Counters for a status display."""

    connections: int = 0
    frames: int = 0
    accepted: int = 0
    errors: int = 0
    rejected: int = 0
    broken_frames: int = 0
    refused_peers: int = 0
    by_code: dict[str, int] = field(default_factory=dict)


class Hl7Listener:
    """MLLP server applying every frame through an :class:`Ingestor`.

    Args:
        ingestor: Stores and applies frames.
        host: Address to bind; 127.0.0.1 by default (``0.0.0.0`` for every interface, which
            needs ``allowed_peers``).
        port: TCP port; 0 picks a free one (see :attr:`port` after ``start``).
        read_timeout_s: A connection that sends nothing for this long is closed; a frame it
            had begun is kept as a dead letter.
        max_frame_bytes: Larger frames are refused unread (AR); the ingestor's limit when
            not given.
        allowed_peers: Addresses or networks that may connect; None: loopback only.
    """

    def __init__(
        self,
        ingestor: Ingestor,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        read_timeout_s: float = 300.0,
        max_frame_bytes: int | None = None,
        max_group: int = MAX_GROUP,
        allowed_peers: Sequence[str] | None = None,
    ) -> None:
        self._ingestor = ingestor
        self._host = host
        self._requested_port = port
        self._timeout = read_timeout_s
        self._limit = ingestor.max_frame_bytes if max_frame_bytes is None else max_frame_bytes
        self._explicit_peers = allowed_peers is not None
        self._allowed = parse_peers(LOOPBACK if allowed_peers is None else allowed_peers)
        self._bound_host = ""
        self._max_group = max(1, max_group)
        self._waiting: list[tuple[bytes, str, asyncio.Future[FrameReply]]] = []
        self._draining = False
        self._drainer: asyncio.Task[None] | None = None
        self._port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._writers: set[Any] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._stats = ListenerStats()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The bound port (0 before ``start``)."""
        return self._port

    @property
    def bound_host(self) -> str:
        """The address actually bound (empty before ``start``)."""
        return self._bound_host

    @property
    def running(self) -> bool:
        """True between a successful ``start`` and ``stop``."""
        return self._thread is not None and self._thread.is_alive() and self._port != 0

    def stats(self) -> ListenerStats:
        """A snapshot of the counters."""
        with self._lock:
            return replace(self._stats, by_code=dict(self._stats.by_code))

    def start(self, timeout_s: float = 10.0) -> None:
        """Bind and start serving in a background thread; returns once listening.

        Raises:
            ListenerError: if the address cannot be bound, or it is reachable from other
                computers and no peer is allowed.
        """
        if self.running:
            return
        if not _is_loopback(self._host) and not self._explicit_peers:
            raise ListenerError(
                f"The HL7 listener will not listen on {self._host}: other computers could "
                "reach it, and no peer is allowed (hl7_allowed_peers is empty).",
                hint="List the sending systems' addresses in hl7_allowed_peers, or keep the "
                "default 127.0.0.1 behind a TLS tunnel (see README, HL7 listener).",
            )
        self._ready.clear()
        self._failure = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hl7-ingest")
        self._thread = threading.Thread(target=self._run, name="hl7-listener", daemon=True)
        self._thread.start()
        started = self._ready.wait(timeout_s)
        failure = self._start_failure()
        if not started or failure is not None:
            self.stop()
            reason = str(failure) if failure else "it did not start in time"
            raise ListenerError(
                f"The HL7 listener cannot listen on {self._host}:{self._requested_port}: {reason}.",
                hint="Choose another port (--port) or stop the program using this one.",
            )
        logger.info("HL7 listener on %s:%s", self._host, self._port)

    def _start_failure(self) -> BaseException | None:
        """What made the loop thread fail to bind (set by that thread)."""
        return self._failure

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop accepting, close connections and wait for work in progress to finish."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own meanwhile
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout_s)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._thread = self._loop = self._stop = self._executor = None
        self._port = 0

    def serve_forever(self) -> None:
        """Start and block until interrupted (Ctrl+C or SIGTERM via KeyboardInterrupt)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    # ------------------------------------------------------------ event loop

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); never kills the process
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._waiting, self._draining = [], False  # nothing left over from an earlier run
        server = await start_hl7_server(
            self._client, self._host, self._requested_port, limit=self._limit
        )
        self._bound_host = str(server.sockets[0].getsockname()[0])
        self._port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for writer in list(self._writers):
                writer.close()
            await server.wait_closed()

    async def _client(self, reader: Any, writer: Any) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        source = f"mllp:{peer[0]}:{peer[1]}"
        if not peer_allowed(str(peer[0]), self._allowed):
            self._count(refused=1)
            logger.warning("HL7 connection from %s refused: not an allowed peer", peer[0])
            writer.close()
            return
        self._writers.add(writer)
        self._count(connections=1)
        try:
            while await self._one_frame(reader, writer, source):
                pass
        except Exception:  # never let one connection take the listener down
            logger.exception("HL7 connection %s failed", source)
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _one_frame(self, reader: Any, writer: Any, source: str) -> bool:
        """Read, apply and answer one frame; False when the connection is finished."""
        try:
            block = await asyncio.wait_for(reader.readblock(), self._timeout)
        except TimeoutError:
            reader.feed_eof()  # hands back whatever the silent client had begun
            try:
                block = await reader.readblock()
            except asyncio.IncompleteReadError as exc:
                await self._broken(exc.partial, source, "the client went silent mid-frame")
                return False
            except InvalidBlockError:
                await self._garbage(writer, source)
                return False
        except asyncio.IncompleteReadError as exc:
            await self._broken(exc.partial, source, "the connection closed mid-frame")
            return False
        except InvalidBlockError:
            await self._garbage(writer, source)
            return True
        except ValueError:  # python-hl7's limit overrun: the frame is too big to buffer
            reply = await self._work(
                self._ingestor.reject_frame,
                source,
                f"Frame larger than {self._limit} bytes (hl7_max_frame_bytes): refused unread, "
                "its text not stored.",
            )
            await self._send(writer, reply)
            return False
        except (ConnectionError, OSError):
            return False
        try:
            reply = await self._apply(block, source)
        except Exception:  # a bug: answer AE (not stored, so the sender resends), keep serving
            logger.exception("HL7 frame from %s could not be handled", source)
            reply = self._ingestor.internal_error_reply()
        await self._send(writer, reply)
        return True

    async def _apply(self, block: bytes, source: str) -> FrameReply:
        """Queue ``block`` for the next group commit and wait for its (committed) reply."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[FrameReply] = loop.create_future()
        self._waiting.append((block, source, future))
        if not self._draining:
            self._draining = True
            self._drainer = loop.create_task(self._drain())  # kept: the loop holds weak refs
        return await future

    async def _drain(self) -> None:
        """Apply waiting frames, a group per transaction, until none are left."""
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                group = self._waiting[: self._max_group]
                del self._waiting[: self._max_group]
                frames = [(block, source) for block, source, _ in group]
                try:
                    replies = await loop.run_in_executor(
                        self._executor, self._ingestor.handle_frames, frames
                    )
                except Exception:  # a bug: retry each frame alone, so it costs only its own
                    logger.exception("HL7 group of %d failed; applying each alone", len(group))
                    await self._one_by_one(group)
                    continue
                for (_, _, future), reply in zip(group, replies, strict=True):
                    if not future.done():
                        future.set_result(reply)
        finally:
            self._draining = False

    async def _one_by_one(self, group: list[tuple[bytes, str, asyncio.Future[FrameReply]]]) -> None:
        """Apply each frame of a failed group alone; only frames that fail alone answer AE."""
        loop = asyncio.get_running_loop()
        for block, source, future in group:
            try:
                [reply] = await loop.run_in_executor(
                    self._executor, self._ingestor.handle_frames, [(block, source)]
                )
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
                continue
            if not future.done():
                future.set_result(reply)

    async def _work(self, fn: Any, *args: Any) -> FrameReply:
        loop = asyncio.get_running_loop()
        reply: FrameReply = await loop.run_in_executor(self._executor, fn, *args)
        return reply

    async def _broken(self, partial: bytes, source: str, why: str) -> None:
        data = partial.lstrip(b"\x0b")
        if not data.strip():
            return  # nothing was begun: an ordinary idle or closed connection
        self._count(broken=1)
        reason = f"Truncated frame: {why} after {len(data)} bytes (no end block)."
        loop = asyncio.get_running_loop()
        with contextlib.suppress(LabdeskError):
            await loop.run_in_executor(
                self._executor, self._ingestor.record_broken_frame, data, source, reason
            )

    async def _garbage(self, writer: Any, source: str) -> None:
        reply = await self._work(
            self._ingestor.reject_frame,
            source,
            "Garbage on the port: data did not begin with the MLLP start block <VT> "
            "(the bytes were discarded).",
        )
        await self._send(writer, reply)

    async def _send(self, writer: Any, reply: FrameReply) -> None:
        for outcome in reply.outcomes:
            self._count(code=outcome.ack_code)
        try:
            writer.writeblock(reply.ack.encode("utf-8"))
            await writer.drain()
        except (ConnectionError, OSError):
            logger.info("HL7 peer left before its acknowledgement was sent")

    def _count(
        self,
        *,
        connections: int = 0,
        broken: int = 0,
        refused: int = 0,
        code: AckCode | None = None,
    ) -> None:
        with self._lock:
            s = self._stats
            by_code = dict(s.by_code)
            if code is not None:
                by_code[code.value] = by_code.get(code.value, 0) + 1
            self._stats = replace(
                s,
                connections=s.connections + connections,
                frames=s.frames + (1 if code is not None else 0),
                accepted=s.accepted + (code is AckCode.ACCEPT),
                errors=s.errors + (code is AckCode.ERROR),
                rejected=s.rejected + (code is AckCode.REJECT),
                broken_frames=s.broken_frames + broken,
                refused_peers=s.refused_peers + refused,
                by_code=by_code,
            )
