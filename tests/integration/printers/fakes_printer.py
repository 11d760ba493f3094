"""A loopback fake Zebra printer (raw TCP, ~HS / ~HQES) for printer and spooler tests."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from enum import StrEnum

STX, ETX, CRLF = b"\x02", b"\x03", b"\r\n"


class ZebraState(StrEnum):
    """Scripted printer states."""

    READY = "ready"
    PAPER_OUT = "paper out"
    HEAD_OPEN = "head open"
    PAUSED = "paused"
    SILENT = "silent"  # Takes jobs but answers no status query (old firmware, hung).


class Behaviour(StrEnum):
    """Scripted connection behaviours (how the printer takes a job)."""

    NORMAL = "normal"
    CLOSE_AFTER = "close after N job bytes"  # ``close_after`` bytes, then the socket closes.
    HANG = "accept, read nothing"  # The connection stays open; nothing is ever read.
    HANG_AFTER_STATUS = "answer ~HS, then read nothing"


def hs_reply(
    *,
    paper_out: bool = False,
    paused: bool = False,
    head_open: bool = False,
    ribbon_out: bool = False,
    buffer_full: bool = False,
) -> bytes:
    """Return a ~HS reply: three STX...ETX CRLF strings (Zebra ZPL II Programming Guide, ~HS)."""

    first = f"030,{int(paper_out)},{int(paused)},1218,000,{int(buffer_full)},0,0,000,0,0,0"
    second = f"001,0,{int(head_open)},{int(ribbon_out)},1,2,6,0,00000000,1,000"
    third = "1234,0"
    return b"".join(STX + s.encode() + ETX + CRLF for s in (first, second, third))


def hqes_reply(errors: int = 0, warnings: int = 0) -> bytes:
    """Return a ~HQES reply with the given low error/warning bit groups."""
    lines = [
        "",
        "  PRINTER STATUS",
        f"   ERRORS:         {int(bool(errors))} 00000000 {errors:08X}",
        f"   WARNINGS:       {int(bool(warnings))} 00000000 {warnings:08X}",
        "",
    ]
    return STX + "\r\n".join(lines).encode() + ETX + CRLF


class FakeZebra:
    """A raw-9100 printer on 127.0.0.1: records jobs and answers ~HS / ~HQES.

    ``state`` picks the answers. With ``realistic_faults`` the printer behaves like
    firmware that sends no ~HS reply in paper-out and head-open states, so only ~HQES
    reports them. A connection's bytes are handled in the order sent, like firmware: a
    ``state_after_job`` change takes effect before a ~HS that follows the job is answered,
    even when both arrive in one TCP segment (the transport turns Nagle off).
    """

    def __init__(self, port: int = 0) -> None:
        self.state = ZebraState.READY
        self.realistic_faults = False
        self.behaviour = Behaviour.NORMAL
        self.close_after = 100
        # The state the printer falls into once job bytes arrive (paper runs out mid-job).
        self.state_after_job: ZebraState | None = None
        # Jobs by connection number, so they read back in the order the connections were
        # accepted even though each connection is handled (and closed) on its own thread.
        self._jobs: dict[int, bytes] = {}
        self._accepted = 0
        self.queries: list[bytes] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._handlers: list[threading.Thread] = []
        # A fixed ``port`` lets a test bring an "offline" printer back at its old address.
        self._server = socket.create_server(("127.0.0.1", port))
        self._server.settimeout(0.05)
        self.port: int = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="fake-zebra", daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        """Printer address for ``open_printer``."""
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def jobs(self) -> list[bytes]:
        """Jobs received so far, in the order their connections were accepted."""
        with self._changed:
            return [self._jobs[n] for n in sorted(self._jobs)]

    def wait_for_jobs(self, count: int, timeout: float = 10.0) -> list[bytes]:
        """Block until ``count`` jobs arrived (generous default: CI machines are busy)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._jobs) >= count, timeout)
        return self.jobs

    def close(self) -> None:
        """Stop serving; once it returns, ``jobs`` holds every connection's bytes."""
        self._stop.set()
        self._thread.join(timeout=2)
        for handler in self._handlers:
            handler.join(timeout=2)
        self._server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._accepted += 1
            handler = threading.Thread(
                target=self._handle, args=(conn, self._accepted), daemon=True
            )
            self._handlers.append(handler)
            handler.start()

    def _handle(self, conn: socket.socket, number: int) -> None:
        stream = _Stream()
        conn.settimeout(0.05)
        behaviour = self.behaviour
        answered = 0
        with conn:
            while not self._stop.is_set():
                if behaviour is Behaviour.HANG or (
                    behaviour is Behaviour.HANG_AFTER_STATUS and answered
                ):
                    self._stop.wait(0.05)
                    continue
                # Reading at most up to the cut-off keeps a ~HS behind it unanswered.
                limit = (
                    self.close_after - stream.taken if behaviour is Behaviour.CLOSE_AFTER else 65536
                )
                try:
                    chunk = conn.recv(max(1, limit))
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                answered += self._take(conn, stream, chunk)
                if behaviour is Behaviour.CLOSE_AFTER and stream.taken >= self.close_after:
                    break
        job = stream.finish()
        if job:
            with self._changed:
                self._jobs[number] = job
                self._changed.notify_all()

    def _take(self, conn: socket.socket, stream: _Stream, chunk: bytes) -> int:
        """Handle ``chunk`` in byte order, as firmware does; return the queries answered.

        Job bytes ahead of a status command take effect (``state_after_job``) before that
        command is answered, however the bytes were split into TCP segments: a ~HS sent
        right behind a job (no Nagle delay) sees the state the job left.
        """
        answered = 0
        for part in stream.feed(chunk):
            if isinstance(part, _Command):
                self.queries.append(part.name)
                reply = self._reply(part.name)
                if reply:
                    with contextlib.suppress(OSError):
                        conn.sendall(reply)
                answered += 1
            elif self.state_after_job is not None:
                self.state = self.state_after_job
        return answered

    def _reply(self, command: bytes) -> bytes:
        state = self.state
        if state is ZebraState.SILENT:
            return b""
        if command == b"~HQES":
            bits = {ZebraState.PAPER_OUT: 0x1, ZebraState.HEAD_OPEN: 0x4}.get(state, 0)
            return hqes_reply(errors=bits)
        faulted = state in (ZebraState.PAPER_OUT, ZebraState.HEAD_OPEN)
        if self.realistic_faults and faulted:
            return b""
        return hs_reply(
            paper_out=state is ZebraState.PAPER_OUT,
            paused=state is ZebraState.PAUSED,
            head_open=state is ZebraState.HEAD_OPEN,
        )


_COMMANDS = (b"~HQES", b"~HS")


@dataclass(frozen=True)
class _Command:
    name: bytes


class _Stream:
    """Splits what a connection sends into job bytes and status commands, in order.

    A command split across reads is recognised: bytes that may start one are held back
    until the next read (or the end of the connection) decides.
    """

    def __init__(self) -> None:
        self._job = bytearray()
        self._held = b""

    @property
    def taken(self) -> int:
        """Job bytes received so far, held ones included (what CLOSE_AFTER counts)."""
        return len(self._job) + len(self._held)

    def feed(self, chunk: bytes) -> list[_Command | bytes]:
        """The parts of ``chunk`` (after any held bytes) that are complete, in order."""
        data = self._held + chunk
        parts: list[_Command | bytes] = []
        while True:
            found = [(data.find(c), c) for c in _COMMANDS if c in data]
            if not found:
                break
            at, command = min(found)
            self._add(parts, data[:at])
            parts.append(_Command(command))
            data = data[at + len(command) :]
        keep = _possible_command_start(data)
        self._held = data[len(data) - keep :] if keep else b""
        self._add(parts, data[: len(data) - keep])
        return parts

    def finish(self) -> bytes:
        """Every job byte of the connection (held bytes were not a command after all)."""
        self._job += self._held
        self._held = b""
        return bytes(self._job)

    def _add(self, parts: list[_Command | bytes], job: bytes) -> None:
        if job:
            self._job += job
            parts.append(job)


def _possible_command_start(data: bytes) -> int:
    """How many trailing bytes of ``data`` could be the start of a status command."""
    longest = max(len(c) for c in _COMMANDS)
    for size in range(min(longest - 1, len(data)), 0, -1):
        if any(c.startswith(data[-size:]) for c in _COMMANDS):
            return size
    return 0
