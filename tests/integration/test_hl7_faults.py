"""HL7 under fault and abuse (issue 15 items 3 and 7), on SQLite and PostgreSQL.

Fuzzed input never gets an internal-error ACK and every ACK keeps its segment structure;
one bad frame in a group commit is answered alone; nothing the sender wrote is echoed into
the ACK unescaped; a resent message is answered AA and not applied twice; the listener
binds loopback, refuses peers not allowed, and refuses oversized or huge frames unread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import hl7
import pytest
from click.testing import CliRunner
from hl7.client import MLLPClient
from hl7_world import ACC_LAV, ACC_PST, World, build_world, group, obx, order_message, oru
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from test_hl7_mllp import msa, reply, send

from labdesk.cli import cli
from labdesk.config import ConfigError, load_config
from labdesk.domain.clock import FixedClock
from labdesk.domain.hl7 import MessageStatus
from labdesk.hl7 import prepare, semantics
from labdesk.interface.ingest import Ingestor
from labdesk.interface.listener import Hl7Listener, ListenerError


@pytest.fixture
def world(engine: Engine, clock: FixedClock) -> World:
    return build_world(engine, clock)


def _statuses(world: World) -> dict[MessageStatus, int]:
    with world.uow() as uow:
        return uow.hl7.count_by_status()


def _k_results(world: World) -> int:
    with world.uow() as uow:
        return len(uow.results.for_ordered_test(world.tests["K"]))


# ---------------------------------------------------------------- ACK structure


def check_ack(ack: str) -> list[tuple[str, str, str]]:
    """Assert ``ack`` is well formed; returns (MSA-1, ERR-3.1, ERR-3.2) per message.

    Well formed: CR-terminated segments, no control character inside a segment, python-hl7
    reads it back, and each message is exactly MSH, MSA and (for AE/AR only) ERR, wrapped in
    BHS/BTS for a batch.
    """
    assert ack.endswith("\r")
    segments = ack[:-1].split("\r")
    for segment in segments:
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in segment), repr(segment)
    if segments[0].startswith("BHS"):
        assert segments[-1] == f"BTS|{sum(s.startswith('MSH') for s in segments)}"
        segments = segments[1:-1]
    answers: list[tuple[str, str, str]] = []
    while segments:
        size = 3 if segments[2:3] and segments[2].startswith("ERR") else 2
        message, segments = segments[:size], segments[size:]
        assert [s[:4] for s in message] == ["MSH|", "MSA|", "ERR|"][:size], message
        parsed = hl7.parse("\r".join(message))  # python-hl7 reads it back
        assert len(parsed) == size
        msh, msa_ = message[0].split("|"), message[1].split("|")
        assert len(msh) == 12
        assert msh[11] in {"2.3", "2.3.1", "2.4", "2.5", "2.5.1"}
        assert msa_[1] in {"AA", "AE", "AR"}
        assert (msa_[1] == "AA") == (size == 2), message
        if size == 2:
            answers.append((msa_[1], "", ""))
            continue
        err = message[2].split("|")
        assert len(err) == 5
        assert err[4] == "E"
        code, text, table = err[3].split("^")
        assert table == "HL70357"
        answers.append((msa_[1], code, text))
    return answers


def assert_deliberate(ack: str) -> None:
    """Every answer is AA or a deliberate AE/AR: an ERR naming the problem, not 207."""
    for code, err_code, err_text in check_ack(ack):
        if code != "AA":
            assert err_code not in {"", "207"}, (code, err_code, err_text)
            assert err_text.strip(), ack


# ---------------------------------------------------------------- fuzzing

_BASES = [
    oru("Z1", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)),
    oru(
        "Z2",
        group("CBC", "F", obx("718-7", "13.5"), obx("789-8", "4.5", set_id=2), filler=ACC_LAV),
        group("K", "P", obx("2823-3", "4.0", status="P"), filler=ACC_PST),
    ),
    order_message("Z3", ("NW", "PO777", "K")),
    "FHS|^~\\&\rBHS|^~\\&\r"
    + oru("Z4", group("K", "F", obx("2823-3", "4.2"), filler=ACC_PST))
    + order_message("Z5", ("NW", "PO778", "K"))
    + "BTS|2\rFTS|1\r",
]
_PIECES = st.sampled_from(
    ["|", "^", "~", "\\", "&", "\r", "\n", "\r\n", "\r\r", "", " ", "\x00", "\x0b", "\x1c",
     "\\X0D\\", "\\X1C\\", "\\F\\", "\\E\\", "\\.br\\", "\\Z\\", "\\", "~X", "MSH|", "PID|",
     "OBR|", "OBX|", "ORC|", "|||||", "^^^^", "é", "\ud7ff", "9" * 70]
)  # fmt: skip


@st.composite
def fuzzed(draw: st.DrawFn) -> str:
    """A sample message with a few edits: pieces inserted, spans deleted or replaced."""
    text = draw(st.sampled_from(_BASES))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        span = draw(st.integers(0, 8))
        piece = draw(_PIECES) if draw(st.booleans()) else draw(st.text(max_size=4))
        text = text[:at] + piece + text[at + span :]
    return text


@settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=fuzzed())
def test_fuzzed_input_never_gets_an_internal_error_and_the_ack_keeps_its_structure(
    world: World, text: str
) -> None:
    reply = world.ingestor.handle_frame(text.encode("utf-8", "surrogatepass"), "fuzz")
    assert_deliberate(reply.ack)
    assert all(o.message_id is not None for o in reply.outcomes)  # every frame was stored


@pytest.mark.parametrize(
    "text",
    [
        # a repetition separator in a segment name (TypeError: unhashable Repetition)
        oru("T1", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)).replace("OBX|", "OBX~2|"),
        order_message("T2", ("NW", "PO1", "K")).replace("ORC|", "ORC~|"),
        oru("T3", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)).replace("PID|", "P^D|"),
        # blank lines between segments (IndexError on an empty segment)
        oru("T4", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)).replace("\r", "\r\r"),
        order_message("T5", ("NW", "PO2", "K"), end="\n\n"),
        "MSH|^~\\&|A|B|C|D|2026||ORU^R01|T6|P|2.5.1\r\rPID~|1||X\r",
    ],
)
def test_inputs_that_crashed_the_reader_get_a_deliberate_answer(world: World, text: str) -> None:
    assert_deliberate(world.ingestor.handle_frame(text, "t").ack)


# ---------------------------------------------------------------- group commit


def test_one_frame_that_breaks_the_reader_does_not_cost_its_group(world: World) -> None:
    crashing = oru("P2", group("K", "F", obx("2823-3", "4.2"), filler=ACC_PST)).replace(
        "OBX|", "OBX~1|"
    )
    frames = [
        oru("P1", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)),
        crashing,
        oru("P3", group("CBC", "F", obx("718-7", "13.5"), filler=ACC_LAV)),
    ]
    replies = world.ingestor.handle_frames([(f, "t") for f in frames])
    # "OBX~1" is no OBX (an unknown segment, skipped): P2 stores no result, and says so
    assert [msa(r.ack)[1:4] for r in replies] == [
        ["AA", "P1", "1 result(s) stored"],
        ["AA", "P2", "0 result(s) stored"],
        ["AA", "P3", "1 result(s) stored"],
    ]
    assert _k_results(world) == 1
    with world.uow() as uow:
        assert len(uow.results.for_ordered_test(world.tests["CBC"])) == 1


def test_a_fault_in_labdesk_while_reading_one_message_answers_that_message_only(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = semantics.read_groups

    def faulty(message, zone):  # type: ignore[no-untyped-def]
        if "|BOOM|" in str(message):
            raise RuntimeError("a bug")
        return real(message, zone)

    monkeypatch.setattr(prepare, "read_groups", faulty)
    frames = [
        oru("Q1", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)),
        oru("BOOM", group("K", "F", obx("2823-3", "9.9"), filler=ACC_PST)),
        oru("Q3", group("CBC", "F", obx("718-7", "13.5"), filler=ACC_LAV)),
    ]
    replies = world.ingestor.handle_frames([(f, "t") for f in frames])
    assert [msa(r.ack)[1] for r in replies] == ["AA", "AE", "AA"]
    [(_, code, text)] = check_ack(replies[1].ack)
    assert code == "207"
    assert "RuntimeError" in text
    assert _statuses(world) == {MessageStatus.PROCESSED: 2, MessageStatus.ERROR: 1}


# ---------------------------------------------------------------- echoes


def test_an_escape_sequence_in_msh_12_is_not_echoed_into_the_ack(world: World) -> None:
    message = oru("E1", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)).replace(
        "|P|2.5.1", "|P|2.5\\X0D\\MSA^AA"
    )
    ack = world.ingestor.handle_frame(message, "t").ack
    segments = ack.rstrip("\r").split("\r")
    assert [s[:3] for s in segments] == ["MSH", "MSA", "ERR"]
    assert segments[0].split("|")[11] == "2.5.1"
    assert segments[1].startswith("MSA|AR|E1|")
    assert segments[2].split("|")[2] == "MSH^1^12"  # ERR-2 names the field
    assert segments[2].split("|")[3].startswith("203^")  # unsupported version


def test_delimiters_and_framing_bytes_in_echoed_fields_are_escaped(world: World) -> None:
    message = (
        oru("E2\\F\\X", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST))
        .replace("|LABSYS|", "|LAB\\X0D\\ERR\\X1C0B\\|")
        .replace("|REFLAB|", "|REF\\S\\LAB|")
    )
    ack = world.ingestor.handle_frame(message, "t").ack
    assert check_ack(ack) == [("AA", "", "")]
    msh = ack.split("\r")[0].split("|")
    assert msh[4:6] == ["LAB ERR", "REF\\S\\LAB"]
    assert ack.split("\r")[1].split("|")[2] == "E2\\F\\X"


# ---------------------------------------------------------------- resend


@pytest.fixture
def listener(world: World) -> Iterator[Hl7Listener]:
    server = Hl7Listener(world.ingestor, port=0, read_timeout_s=2.0)
    server.start()
    yield server
    server.stop()


def _wait_for(world: World, status: MessageStatus, count: int) -> None:
    deadline = time.monotonic() + 10
    while _statuses(world).get(status, 0) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_committed_but_unacknowledged_message_resent_is_aa_and_applied_once(
    world: World, listener: Hl7Listener
) -> None:
    message = oru("RS1", group("K", "F", obx("2823-3", "4.4"), filler=ACC_PST))
    lost = socket.create_connection(("127.0.0.1", listener.port))
    lost.sendall(b"\x0b" + message.encode() + b"\x1c\r")
    lost.close()  # the sender never reads the ACK: for it, the message is unacknowledged
    _wait_for(world, MessageStatus.PROCESSED, 1)
    assert _statuses(world) == {MessageStatus.PROCESSED: 1}
    with MLLPClient("127.0.0.1", listener.port) as client:
        answer = send(client, message)
    assert msa(answer)[1:3] == ["AA", "RS1"]
    assert "Duplicate" in msa(answer)[3]
    assert _statuses(world) == {MessageStatus.PROCESSED: 1, MessageStatus.DUPLICATE: 1}
    assert _k_results(world) == 1


# ---------------------------------------------------------------- exposure and limits


def test_the_listener_binds_loopback_by_default(listener: Hl7Listener) -> None:
    assert listener.bound_host == "127.0.0.1"


def test_every_interface_without_allowed_peers_is_refused_at_start(world: World) -> None:
    server = Hl7Listener(world.ingestor, host="0.0.0.0", port=0)
    with pytest.raises(ListenerError, match="hl7_allowed_peers") as raised:
        server.start()
    assert "tunnel" in raised.value.hint
    assert not server.running


def test_a_peer_not_allowed_is_disconnected_unread(world: World) -> None:
    server = Hl7Listener(world.ingestor, port=0, allowed_peers=["192.0.2.0/24"])
    server.start()
    try:
        with MLLPClient("127.0.0.1", server.port) as client:
            message = oru("N1", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST))
            try:
                answer = reply(client, b"\x0b" + message.encode() + b"\x1c\r")
            except ConnectionResetError:  # closed with our bytes unread: a reset
                answer = b""
            assert answer == b""
        assert server.stats().refused_peers == 1
    finally:
        server.stop()
    assert _statuses(world) == {}
    allowed = Hl7Listener(world.ingestor, port=0, allowed_peers=["127.0.0.1"])
    allowed.start()
    try:
        with MLLPClient("127.0.0.1", allowed.port) as client:
            assert msa(send(client, message))[1] == "AA"
    finally:
        allowed.stop()


def _stored_raw(world: World) -> list[str]:
    with world.uow() as uow:
        return [m.raw for m in uow.hl7.dead_letters()]


def test_an_oversized_frame_is_refused_with_ar_and_its_text_not_stored(
    world: World, clock: FixedClock
) -> None:
    ingestor = Ingestor(world.uow, clock, timezone="UTC", max_frame_bytes=4096)
    big = oru("BIG1", group("K", "F", obx("2823-3", "4.1", name="X" * 8000), filler=ACC_PST))
    server = Hl7Listener(ingestor, port=0, read_timeout_s=2.0)
    server.start()
    try:
        with MLLPClient("127.0.0.1", server.port) as client:
            answer = send(client, big)
    finally:
        server.stop()
    assert msa(answer)[1] == "AR"
    assert "4096" in msa(answer)[3]
    direct = ingestor.handle_frame(big.encode(), "file:big.hl7")  # the import path
    assert msa(direct.ack)[1] == "AR"
    assert _statuses(world) == {MessageStatus.REJECTED: 2}
    assert all("XXXX" not in raw for raw in _stored_raw(world))
    assert _k_results(world) == 0


def test_a_frame_with_too_many_segments_is_refused_before_parsing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object, **kwargs: object) -> object:
        raise AssertionError("parsed a frame over the segment limit")

    monkeypatch.setattr(prepare, "split_frame", never)
    monkeypatch.setattr(prepare, "parse_message", never)
    huge = oru("HUGE", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)) + "NTE|1\r" * 100_000
    reply_ = world.ingestor.handle_frame(huge.encode(), "t")
    assert msa(reply_.ack)[1] == "AR"
    assert "segments" in msa(reply_.ack)[3]
    assert_deliberate(reply_.ack)
    assert _statuses(world) == {MessageStatus.REJECTED: 1}


# ---------------------------------------------------------------- configuration


def test_listener_settings_come_from_the_config_file(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    assert load_config(file).hl7_host == "127.0.0.1"  # the default: this computer only
    assert load_config(file).hl7_allowed_peers == ()
    file.write_text(
        '[labdesk]\nhl7_host = "0.0.0.0"\nhl7_allowed_peers = ["10.0.5.20", "10.0.6.0/28"]\n'
        "hl7_max_frame_bytes = 65536\nhl7_max_segments = 500\n",
        encoding="utf-8",
    )
    config = load_config(file)
    assert config.hl7_host == "0.0.0.0"
    assert config.hl7_allowed_peers == ("10.0.5.20", "10.0.6.0/28")
    assert (config.hl7_max_frame_bytes, config.hl7_max_segments) == (65536, 500)


@pytest.mark.parametrize(
    "line",
    ['hl7_allowed_peers = ["lab.example"]', "hl7_max_frame_bytes = 0", "hl7_max_segments = -1"],
)
def test_bad_listener_settings_are_refused(tmp_path: Path, line: str) -> None:
    file = tmp_path / "config.toml"
    file.write_text(f"[labdesk]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=line.split(" ")[0]):
        load_config(file)


def test_serve_on_every_interface_without_allowed_peers_says_what_to_set(
    tmp_path: Path, sqlite_url: str
) -> None:
    env = {
        "LABDESK_DATABASE_URL": sqlite_url,
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
    }
    result = CliRunner().invoke(cli, ["hl7", "serve", "--host", "0.0.0.0", "--port", "0"], env=env)
    assert result.exit_code != 0
    assert "hl7_allowed_peers" in result.output


def test_a_group_the_listener_cannot_apply_is_retried_frame_by_frame(
    world: World, listener: Hl7Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure of a whole group (a bug) costs only the frame that fails alone."""
    real = world.ingestor.handle_frames
    hold, busy = threading.Event(), threading.Event()

    def handle(frames):  # type: ignore[no-untyped-def]
        if any(b"HOLD" in bytes(data) for data, _ in frames):
            busy.set()
            hold.wait(10)  # keep the worker busy so the next frames queue as one group
        if any(b"BOOM" in bytes(data) for data, _ in frames):
            raise RuntimeError("a bug")
        return real(frames)

    monkeypatch.setattr(world.ingestor, "handle_frames", handle)
    frames = {
        name: oru(name, group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)).encode()
        for name in ("HOLD", "BOOM", "GOOD")
    }
    clients = {name: MLLPClient("127.0.0.1", listener.port) for name in frames}
    try:
        clients["HOLD"].socket.sendall(b"\x0b" + frames["HOLD"] + b"\x1c\r")
        assert busy.wait(10)
        deadline = time.monotonic() + 10
        for name in ("BOOM", "GOOD"):
            clients[name].socket.sendall(b"\x0b" + frames[name] + b"\x1c\r")
        while len(listener._waiting) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(listener._waiting) == 2  # BOOM and GOOD: one group
        hold.set()
        answers = {name: msa(reply(client).decode())[1] for name, client in clients.items()}
    finally:
        for client in clients.values():
            client.close()
    assert answers == {"HOLD": "AA", "BOOM": "AE", "GOOD": "AA"}
