"""Fixtures for printer integration tests: a loopback fake Zebra on raw TCP, closed ports."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from fakes_printer import FakeZebra

from labdesk.domain.accession import make_accession
from labdesk.domain.printing import LabelContent


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


@pytest.fixture
def make_content() -> Callable[..., LabelContent]:
    """Factory for label content with sensible defaults; keyword arguments override."""

    def make(**overrides: object) -> LabelContent:
        fields: dict[str, object] = {
            "accession": make_accession(2026, 1234),
            "family_name": "Doe",
            "given_name": "Jane",
            "birth_date": "1984-03-05",
            "mrn": "00123456",
            "collected_at": "2026-03-05 08:15",
            "collector_initials": "JD",
            "container": "EDTA 3 mL",
            "cap_colour": "Lavender",
            "tests": ("CBC", "HBA1C"),
            "specimen_type": "BLD",
        }
        fields.update(overrides)
        return LabelContent(**fields)  # type: ignore[arg-type]

    return make
