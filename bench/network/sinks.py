"""Loopback TCP pieces the parent runs: a raw-9100 label printer sink and a cutting proxy.

:class:`PrinterSink` answers the Zebra ``~HS`` status query as a healthy printer (so the
product's :class:`printers.tcp.TcpPrinter` sends and confirms each job exactly as at a
real printer) and counts the jobs and bytes it took. A job is the ZPL between the status
queries of one connection; identical job bytes arriving twice are a label sent twice
(each label carries its own accession), whatever the database says.

:class:`CutProxy` forwards connections to the PostgreSQL server and, on :meth:`cut`, closes
every open connection and refuses new ones for a moment: what the stations see when the
server restarts, without touching the shared server.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import time
from collections import Counter

STX, ETX, CRLF = b"\x02", b"\x03", b"\r\n"
_HS_REPLY = b"".join(
    STX + s + ETX + CRLF
    for s in (b"030,0,0,1218,000,0,0,0,000,0,0,0", b"001,0,0,0,1,2,6,0,00000000,1,000", b"1234,0")
)


def _listen() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(256)
    return server


class PrinterSink:
    """A healthy raw-TCP label printer on 127.0.0.1 that counts what it prints."""

    def __init__(self) -> None:
        self._server = _listen()
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._digests: Counter[str] = Counter()
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="printer-sink", daemon=True)

    @property
    def uri(self) -> str:
        """The printer address the stations print to."""
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> PrinterSink:
        """Begin accepting connections."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting (connections in progress finish)."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._server.close()

    @property
    def jobs(self) -> int:
        """Jobs printed."""
        with self._lock:
            return sum(self._digests.values())

    @property
    def duplicates(self) -> int:
        """Jobs whose exact bytes had been printed before."""
        with self._lock:
            return sum(n - 1 for n in self._digests.values() if n > 1)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        job = bytearray()
        with conn:
            conn.settimeout(30)
            pending = b""
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                pending += data
                while True:
                    at = pending.find(b"~HS")
                    if at < 0:
                        keep = 2 if pending.endswith((b"~", b"~H")) else 0
                        job += pending[: len(pending) - keep]
                        pending = pending[len(pending) - keep :]
                        break
                    job += pending[:at]
                    pending = pending[at + 3 :]
                    with contextlib.suppress(OSError):
                        conn.sendall(_HS_REPLY)
        if job.strip():
            with self._lock:
                self._digests[hashlib.sha256(bytes(job)).hexdigest()] += 1
                self.bytes += len(job)


class CutProxy:
    """Forwards 127.0.0.1:<port> to ``target``; :meth:`cut` drops every connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server = _listen()
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._refuse_until = 0.0
        self.cuts = 0
        self.cut_connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="cut-proxy", daemon=True)

    def start(self) -> CutProxy:
        """Begin forwarding."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and close everything."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._server.close()
        self._close_all()

    def cut(self, down_s: float = 1.0) -> int:
        """Close every forwarded connection; refuse new ones for ``down_s`` seconds."""
        with self._lock:
            self._refuse_until = time.monotonic() + down_s
        closed = self._close_all()
        self.cuts += 1
        self.cut_connections += closed
        return closed

    def _close_all(self) -> int:
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        return len(sockets) // 2

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                refusing = time.monotonic() < self._refuse_until
            if refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open.discard(src)
                self._open.discard(dst)
