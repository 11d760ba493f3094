"""The fake Zebra handles a connection's bytes in order, however TCP splits them.

The transport sets TCP_NODELAY, so the ~HS behind a job often arrives in the same read as
the job's last bytes; the fake must still apply what the job did before answering it.
"""

from __future__ import annotations

import socket
import time

import pytest
from fakes_printer import FakeZebra, ZebraState, hs_reply

from printers.tcp import TcpPrinter

pytestmark = pytest.mark.integration

JOB = b"^XA^FO10,10^FDSYNTHETIC, PATIENT^FS^XZ"


def _replies(sock: socket.socket, count: int) -> list[bytes]:
    """Read ``count`` ~HS replies (the fake's are all as long as a healthy one)."""
    size = len(hs_reply())
    data = b""
    deadline = time.monotonic() + 2
    while len(data) < count * size and time.monotonic() < deadline:
        data += sock.recv(4096)
    return [data[i * size : (i + 1) * size] for i in range(count)]


def _send_in_pieces(fake: FakeZebra, pieces: list[bytes]) -> list[bytes]:
    """Send ``pieces`` (one write each, no Nagle) and collect the ~HS replies."""
    replies = []
    with socket.create_connection(("127.0.0.1", fake.port), timeout=2) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in pieces:
            sock.sendall(piece)
            replies += _replies(sock, piece.count(b"~HS"))
            time.sleep(0.02)  # let the fake read each piece on its own
    return replies


def test_a_query_in_the_same_segment_as_the_job_sees_the_state_the_job_left(
    fake_zebra: FakeZebra,
) -> None:
    fake_zebra.state_after_job = ZebraState.PAPER_OUT
    before, after = _send_in_pieces(fake_zebra, [b"~HS", JOB + b"~HS"])
    assert before == hs_reply()
    assert after == hs_reply(paper_out=True)
    fake_zebra.close()
    assert fake_zebra.jobs == [JOB]
    assert fake_zebra.queries == [b"~HS", b"~HS"]


def test_a_query_ahead_of_the_job_in_one_segment_sees_the_state_before_it(
    fake_zebra: FakeZebra,
) -> None:
    fake_zebra.state_after_job = ZebraState.PAPER_OUT
    before, after = _send_in_pieces(fake_zebra, [b"~HS" + JOB + b"~HS"])
    assert before == hs_reply()
    assert after == hs_reply(paper_out=True)


def test_a_query_split_across_reads_is_answered_and_not_printed(fake_zebra: FakeZebra) -> None:
    fake_zebra.state_after_job = ZebraState.PAPER_OUT
    with socket.create_connection(("127.0.0.1", fake_zebra.port), timeout=2) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(JOB + b"~H")
        time.sleep(0.05)  # the fake reads the job and the start of the query alone
        sock.sendall(b"S")
        (reply,) = _replies(sock, 1)
    assert reply == hs_reply(paper_out=True)
    fake_zebra.close()
    assert fake_zebra.jobs == [JOB]


def test_bytes_that_only_look_like_a_query_start_stay_in_the_job(fake_zebra: FakeZebra) -> None:
    job = JOB + b"~H"
    with socket.create_connection(("127.0.0.1", fake_zebra.port), timeout=2) as sock:
        sock.sendall(job)
    assert fake_zebra.wait_for_jobs(1) == [job]
    assert fake_zebra.queries == []


def test_the_transport_turns_nagle_off(fake_zebra: FakeZebra) -> None:
    """Nagle would hold the ~HS behind each job for the printer's delayed ACK (~40 ms)."""
    with TcpPrinter("127.0.0.1", fake_zebra.port)._connect() as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
