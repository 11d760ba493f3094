"""A loopback TCP proxy, to break a connection the way a network does (tests, the drill).

Put it in front of a server (PostgreSQL, an MLLP peer, a printer) and point the code under
test at :attr:`TcpProxy.port`; the test then decides what the link does:

- :meth:`TcpProxy.forward`: pass bytes both ways (the start state);
- :meth:`TcpProxy.cut`: close every open connection now (a server restart, a dropped
  link); new connections are still accepted in the current mode;
- :meth:`TcpProxy.refuse`: close every connection and stop listening, so a new one is
  refused (a server that is down); :meth:`forward` listens again on the same port;
- :meth:`TcpProxy.black_hole`: keep every connection open, old and new, but drop all bytes
  silently (a frozen peer, a route that went dark): only a timeout notices.

The real server is never touched. Threads: one accepting, two per connection (one per
direction); all are daemons and end at :meth:`TcpProxy.close` (or leaving the ``with``).

    with TcpProxy("127.0.0.1", 5432) as proxy:
        url = proxy.rewrite_url(pg_url)
        ...
        proxy.cut()
"""

from __future__ import annotations

import contextlib
import enum
import select
import socket
import threading
from types import TracebackType

from sqlalchemy.engine import make_url

_POLL_S = 0.05
_CHUNK = 65536


class Mode(enum.Enum):
    """What the proxy does with connections and bytes."""

    FORWARD = "forward"
    BLACK_HOLE = "black_hole"
    REFUSE = "refuse"


class _Pair:
    """A client connection and its upstream connection (None while black-holed)."""

    def __init__(self, client: socket.socket, upstream: socket.socket | None) -> None:
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()
        for sock in (self.client, self.upstream):
            if sock is None:
                continue
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream_host:upstream_port`` (see the module)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._mode = Mode.FORWARD
        self._pairs: list[_Pair] = []
        self._closing = threading.Event()
        self._listener: socket.socket | None = None
        self._port = 0
        self.accepted = 0
        """Connections accepted so far."""
        self._listen()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    # ------------------------------------------------------------------ public

    @property
    def port(self) -> int:
        """The loopback port to connect to (the same for the proxy's whole life)."""
        return self._port

    @property
    def mode(self) -> Mode:
        """What the proxy does now."""
        return self._mode

    @property
    def open_connections(self) -> int:
        """Connections currently held open."""
        with self._lock:
            self._pairs = [p for p in self._pairs if not p.closed.is_set()]
            return len(self._pairs)

    def rewrite_url(self, url: str) -> str:
        """``url`` (SQLAlchemy form) with its host and port replaced by the proxy's."""
        return make_url(url).set(host="127.0.0.1", port=self._port).render_as_string(False)

    def forward(self) -> None:
        """Pass bytes both ways; listen again if :meth:`refuse` stopped listening."""
        with self._lock:
            self._mode = Mode.FORWARD
        if self._listener is None:
            self._listen()

    def black_hole(self) -> None:
        """Keep connections open (and accept new ones) but drop every byte."""
        with self._lock:
            self._mode = Mode.BLACK_HOLE

    def cut(self) -> None:
        """Close every open connection now (the mode stays)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close()

    def refuse(self) -> None:
        """Close every connection and stop listening: new connections are refused."""
        with self._lock:
            self._mode = Mode.REFUSE
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self.cut()

    def close(self) -> None:
        """Stop everything (idempotent)."""
        self._closing.set()
        self.refuse()
        self._acceptor.join(timeout=1.0)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ threads

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self._port))
        listener.listen(64)
        self._port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            listener = self._listener
            if listener is None:
                self._closing.wait(_POLL_S)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], _POLL_S)
                if not ready:
                    continue
                client, _addr = listener.accept()
            except (OSError, ValueError):  # closed by refuse() meanwhile
                continue
            self.accepted += 1
            self._open_pair(client)

    def _open_pair(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        if self._mode is Mode.FORWARD:
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                client.close()
                return
            upstream.settimeout(None)
        pair = _Pair(client, upstream)
        with self._lock:
            self._pairs.append(pair)
        threading.Thread(target=self._pump, args=(pair, True), daemon=True).start()
        if upstream is not None:
            threading.Thread(target=self._pump, args=(pair, False), daemon=True).start()

    def _pump(self, pair: _Pair, from_client: bool) -> None:
        """Copy one direction until either side closes; drop bytes while black-holed."""
        source = pair.client if from_client else pair.upstream
        target = pair.upstream if from_client else pair.client
        assert source is not None
        try:
            while not pair.closed.is_set():
                ready, _, _ = select.select([source], [], [], _POLL_S)
                if not ready:
                    continue
                data = source.recv(_CHUNK)
                if not data:
                    break
                if self._mode is Mode.BLACK_HOLE or target is None:
                    continue
                target.sendall(data)
        except (OSError, ValueError):
            pass
        pair.close()
