"""Fixtures for printer integration tests: a loopback fake Zebra on raw TCP, closed ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fakes_printer import FakeZebra


@pytest.fixture
def fake_zebra() -> Iterator[FakeZebra]:
    """A running loopback fake Zebra printer."""
    printer = FakeZebra()
    yield printer
    printer.close()


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A 127.0.0.1 port that accepts connections but never reads from them."""
    server = socket.create_server(("127.0.0.1", 0), backlog=1)
    yield server.getsockname()[1]
    server.close()
