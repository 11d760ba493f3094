"""The MLLP listener driven by python-hl7's real MLLP client, and bad input on the wire."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hl7.client import MLLPClient
from hl7_world import ACC_PST, World, build_world, group, obx, oru
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from labdesk.domain.clock import FixedClock
from labdesk.domain.hl7 import MessageStatus
from labdesk.interface.listener import Hl7Listener, ListenerError

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "data/hl7").glob("*.hl7"))


@pytest.fixture
def world(engine: Engine, clock: FixedClock) -> World:
    return build_world(engine, clock)


@pytest.fixture
def listener(world: World) -> Iterator[Hl7Listener]:
    server = Hl7Listener(world.ingestor, host="127.0.0.1", port=0, read_timeout_s=0.5)
    server.start()
    yield server
    server.stop()


def reply(client: MLLPClient, data: bytes | None = None) -> bytes:
    """Read a whole answer block (MLLPClient.send reads one recv only)."""
    if data is not None:
        client.socket.sendall(data)
    buffer = b""
    while not buffer.endswith(b"\x1c\r"):
        chunk = client.socket.recv(4096)
        if not chunk:
            break
        buffer += chunk
    return buffer


def send(client: MLLPClient, message: str | bytes) -> str:
    binary = message if isinstance(message, bytes) else message.encode()
    return reply(client, b"\x0b" + binary + b"\x1c\r").decode()


def msa(answer: str) -> list[str]:
    return next(s for s in answer.strip("\x0b\x1c\r").split("\r") if s.startswith("MSA")).split("|")


def rows(world: World) -> dict[MessageStatus, int]:
    with world.uow() as uow:
        return uow.hl7.count_by_status()


def test_public_samples_are_stored_then_acknowledged(world: World, listener: Hl7Listener) -> None:
    assert SAMPLES, "tests/data/hl7 is missing"
    with MLLPClient("127.0.0.1", listener.port) as client:
        for sample in SAMPLES:
            data = sample.read_bytes()
            answer = send(client, data)
            control = data.split(b"\r")[0].split(b"|")[9].decode()
            assert msa(answer)[:3] == ["MSA", "AA", control], sample.name
    with world.uow() as uow:
        stored = uow.hl7.processed_with_control_id("LABSYS|REFLAB", "none")
        assert stored is None
        messages = [uow.hl7.message(i) for i in range(1, len(SAMPLES) + 1)]
        assert [m.raw.encode() for m in messages if m] == [s.read_bytes() for s in SAMPLES]
        # no sample names a LabDesk patient: every group waits for manual matching
        assert len(uow.hl7.unmatched_list()) == len(SAMPLES)


def test_a_matched_result_over_the_wire(world: World, listener: Hl7Listener) -> None:
    message = oru("W1", group("K", "F", obx("2823-3", "4.4"), filler=ACC_PST))
    with MLLPClient("127.0.0.1", listener.port) as client:
        assert msa(send(client, message))[1] == "AA"
        assert msa(send(client, message))[1] == "AA"  # duplicate: acknowledged again
    assert rows(world) == {MessageStatus.PROCESSED: 1, MessageStatus.DUPLICATE: 1}


def test_garbage_truncation_and_silence_are_dead_letters_and_the_listener_survives(
    world: World, listener: Hl7Listener
) -> None:
    with MLLPClient("127.0.0.1", listener.port) as client:
        assert msa(reply(client, b"\x00\xffnot hl7\x1c\r").decode("latin-1"))[1] == "AR"
        assert msa(send(client, b"\xff\xfe garbage inside a block"))[1] == "AR"
        client.socket.sendall(b"\x0bMSH|^~\\&|LAB|X|LD|C|2026||ORU^R01|S1|P|2.5.1\rPID|||1")
        assert reply(client) == b""  # silent mid-frame: closed after the timeout
    cut = socket.create_connection(("127.0.0.1", listener.port))
    cut.sendall(b"\x0bMSH|^~\\&|LAB|X|LD|C|2026||ORU^R01|T1|P|2.5.1\rPID")
    cut.close()
    deadline = time.monotonic() + 5
    while rows(world).get(MessageStatus.REJECTED, 0) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    with world.uow() as uow:
        errors = sorted(m.error[:30] for m in uow.hl7.dead_letters())
        raws = [m.raw for m in uow.hl7.dead_letters()]
    assert len(errors) == 4
    assert any("went silent" in e for e in [m for m in _errors(world)])
    assert any("closed mid-frame" in e for e in _errors(world))
    assert any(r.startswith("MSH|^~\\&|LAB|X|LD|C|2026||ORU^R01|T1") for r in raws)
    with MLLPClient("127.0.0.1", listener.port) as client:  # still serving
        assert (
            msa(send(client, oru("A1", group("K", "F", obx("2823-3", "4"), filler=ACC_PST))))[1]
            == "AA"
        )


def _errors(world: World) -> list[str]:
    with world.uow() as uow:
        return [m.error for m in uow.hl7.dead_letters()]


def test_a_busy_port_is_a_clear_error(world: World, listener: Hl7Listener) -> None:
    other = Hl7Listener(world.ingestor, host="127.0.0.1", port=listener.port)
    with pytest.raises(ListenerError, match="cannot listen"):
        other.start()
    assert not other.running
    assert listener.running


# ---------------------------------------------------------------- fuzzing

_VALID = oru("F0", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST))
_BREAKERS = [
    lambda m: m.replace("ORU^R01^ORU_R01", "XYZ^Z99"),  # unsupported type -> AR
    lambda m: m.replace("|P|2.5.1", "|P|9.9"),  # unsupported version -> AR
    lambda m: m.replace("|F0|", "||"),  # no MSH-10 -> AR
    lambda m: m.replace("MSH|", "XSH|", 1),  # no MSH -> AR
    lambda m: m.replace("PID|1||M0000001^^^CLINIC^MR", "PID|1||"),  # no MRN -> AE
    lambda m: m.replace("OBR|", "ZBR|"),  # OBX before OBR -> AE
    lambda m: m.replace("|||F|||2026", "|||Q|||2026"),  # OBX-11 unknown -> AE
    lambda m: m.replace("K^K^L", "^K^L"),  # OBR-4 empty -> AE
]
_noise = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x0b\x1c\r\n|^~\\&"),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(breaker=st.sampled_from(range(len(_BREAKERS))), noise=_noise, control=st.uuids())
def test_malformed_messages_always_get_ae_or_ar_and_a_dead_letter(
    world: World, listener: Hl7Listener, breaker: int, noise: str, control: object
) -> None:
    message = _BREAKERS[breaker](_VALID).replace("|F0|", f"|{str(control)[:20]}|")
    message = message.replace("Testpatient", f"Test{noise}")
    before = rows(world)
    with MLLPClient("127.0.0.1", listener.port) as client:
        code = msa(send(client, message))[1]
    after = rows(world)
    assert code in {"AE", "AR"}
    dead = sum(
        after.get(s, 0) - before.get(s, 0) for s in (MessageStatus.ERROR, MessageStatus.REJECTED)
    )
    assert dead == 1


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=300).filter(lambda b: b"\x1c\r" not in b))
def test_any_bytes_in_a_frame_are_answered_and_stored(
    world: World, listener: Hl7Listener, payload: bytes
) -> None:
    before = sum(rows(world).values())
    with MLLPClient("127.0.0.1", listener.port) as client:
        answer = reply(client, b"\x0b" + payload + b"\x1c\r").decode("utf-8", "replace")
    assert msa(answer)[1] in {"AA", "AE", "AR"}
    assert sum(rows(world).values()) == before + 1
