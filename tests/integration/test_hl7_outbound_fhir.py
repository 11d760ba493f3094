"""Outbound collection messages (queue, MLLP delivery, retries) and the FHIR export."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import hl7
import pytest
from fhir.resources.R4B.bundle import Bundle
from hl7.mllp import start_hl7_server
from hl7_world import ACC_LAV, ACC_PST, MRN, World, build_world
from sqlalchemy import Engine

from labdesk.custody.events import Handoff, record_event
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import PermissionDenied, ValidationError
from labdesk.domain.hl7 import OutboundStatus
from labdesk.domain.people import Role
from labdesk.hl7.mllp_client import MllpTransport
from labdesk.hl7.outbound_build import ORM_O01
from labdesk.interface.fhir_export import export_specimen_fhir
from labdesk.interface.outbound import backoff, queue_collection_message, send_due_messages


@pytest.fixture
def world(engine: Engine, clock: FixedClock) -> World:
    return build_world(engine, clock)


def _queue(world: World, message_type: str = "OML^O21") -> int:
    with world.uow() as uow:
        ids = list(world.specimen_ids.values())
        outbound_id = queue_collection_message(uow, world.clock, ids, message_type=message_type)
        uow.commit()
    return outbound_id


def _payload(world: World, outbound_id: int) -> str:
    with world.uow() as uow:
        message = uow.hl7.outbound(outbound_id)
        assert message is not None
        return message.payload


def test_oml_o21_carries_an_spm_per_specimen(world: World) -> None:
    outbound_id = _queue(world)
    assert _queue(world) == outbound_id  # the same specimens again: not queued twice
    message = hl7.parse(_payload(world, outbound_id))
    assert str(message.segment("MSH")[9]) == "OML^O21^OML_O21"
    assert message.segment("PID").extract_field(1, 3) == MRN
    spms = message.segments("SPM")
    accessions = {s.extract_field(1, 2, 1, 1, 1) for s in spms}
    assert accessions == {ACC_PST, ACC_LAV}
    by_acc = {s.extract_field(1, 2, 1, 1, 1): s for s in spms}
    assert by_acc[ACC_PST].extract_field(1, 4, 1, 1) == "PLAS"  # potassium: plasma (PST)
    assert by_acc[ACC_LAV].extract_field(1, 4, 1, 1) == "BLD"
    assert by_acc[ACC_PST].extract_field(1, 27, 1, 1) == "PST"
    assert by_acc[ACC_PST].extract_field(1, 17).startswith("20260302")
    assert len(message.segments("OBR")) == 3
    assert {o.extract_field(1, 2) for o in message.segments("ORC")} == {"PO100"}


def test_orm_o01_puts_the_specimen_in_obr(world: World) -> None:
    message = hl7.parse(_payload(world, _queue(world, ORM_O01)))
    assert str(message.segment("MSH")[9]).startswith("ORM^O01")
    with pytest.raises(KeyError):
        message.segments("SPM")
    assert {o.extract_field(1, 15, 1, 1, 1) for o in message.segments("OBR")} == {"PLAS", "BLD"}


def test_queue_refuses_specimens_of_unknown_ids(world: World) -> None:
    with world.uow() as uow, pytest.raises(ValidationError):
        queue_collection_message(uow, world.clock, [])


class FakeLab:
    """A lab interface on python-hl7's MLLP server that answers with a scripted code."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.received: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(5)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def client(reader, writer) -> None:  # type: ignore[no-untyped-def]
            try:
                while True:
                    block = (await reader.readblock()).decode()
                    self.received.append(block)
                    code = self.answers.pop(0) if self.answers else "AA"
                    if code == "silence":
                        continue
                    control = block.split("\r")[0].split("|")[9]
                    writer.writeblock(
                        f"MSH|^~\\&|LAB||||2026||ACK|1|P|2.5.1\rMSA|{code}|{control}|why\r".encode()
                    )
                    await writer.drain()
            except Exception:
                writer.close()

        server = self.loop.run_until_complete(start_hl7_server(client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def lab() -> Iterator[FakeLab]:
    fake = FakeLab()
    yield fake
    fake.close()


def _status(world: World, outbound_id: int):  # type: ignore[no-untyped-def]
    with world.uow() as uow:
        m = uow.hl7.outbound(outbound_id)
        assert m is not None
        return m.status, m.attempts, m.next_attempt_at, m.last_error


def test_delivery_retries_with_back_off_then_succeeds(world: World, lab: FakeLab) -> None:
    outbound_id = _queue(world)
    lab.answers = ["AE", "AA"]
    with MllpTransport("127.0.0.1", lab.port, timeout_s=2) as transport:
        report = send_due_messages(world.uow, world.clock, transport)
        assert (report.sent, report.retrying) == (0, 1)
        status, attempts, due, _ = _status(world, outbound_id)
        assert (status, attempts) == (OutboundStatus.PENDING, 1)
        assert due == world.clock.now() + backoff(1)
        assert send_due_messages(world.uow, world.clock, transport).sent == 0  # not due yet
        world.clock.advance(timedelta(seconds=31))
        assert send_due_messages(world.uow, world.clock, transport).sent == 1
    assert _status(world, outbound_id)[0] is OutboundStatus.SENT
    assert len({m.split("\r")[0].split("|")[9] for m in lab.received}) == 1  # same MSH-10


def test_ar_is_final_and_an_unreachable_lab_is_retried(world: World, lab: FakeLab) -> None:
    outbound_id = _queue(world)
    with MllpTransport("127.0.0.1", 1, timeout_s=1) as transport:
        report = send_due_messages(world.uow, world.clock, transport)
    assert report.retrying == 1
    assert "Cannot deliver" in _status(world, outbound_id)[3]
    world.clock.advance(timedelta(minutes=1))
    lab.answers = ["AR"]
    with MllpTransport("127.0.0.1", lab.port, timeout_s=2) as transport:
        assert send_due_messages(world.uow, world.clock, transport).rejected == 1
    assert _status(world, outbound_id)[0] is OutboundStatus.REJECTED


def test_gives_up_after_max_attempts(world: World) -> None:
    outbound_id = _queue(world)
    with MllpTransport("127.0.0.1", 1, timeout_s=1) as transport:
        for _ in range(3):
            send_due_messages(world.uow, world.clock, transport, max_attempts=3)
            world.clock.advance(timedelta(hours=1))
    assert _status(world, outbound_id)[:2] == (OutboundStatus.FAILED, 3)


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff(50) == timedelta(minutes=30)


def test_fhir_export_validates_and_names_no_patient(world: World) -> None:
    with world.uow() as uow:
        specimen = uow.specimens.get(world.specimen_ids[ACC_LAV])
        assert specimen is not None
        ma = world.users[Role.MEDICAL_ASSISTANT].id
        specimen.status = specimen.status.__class__("collected")
        for kind in ("collected", "labelled", "verified", "picked_up", "received"):
            record_event(
                uow,
                world.clock,
                specimen,
                CustodyEventKind(kind),
                Handoff(actor_id=ma, location="CLINIC"),
            )
        uow.commit()
    doctor = world.users[Role.CLINICIAN]
    with world.uow() as uow:
        bundle = export_specimen_fhir(uow, world.clock, doctor, ACC_LAV)
    parsed = Bundle.model_validate(bundle)
    kinds = [e.resource.get_resource_type() for e in parsed.entry]
    assert kinds.count("Specimen") == 1
    assert kinds.count("ServiceRequest") == kinds.count("Task") == 2  # HGB and CBC
    assert kinds.count("Provenance") == 5
    text = json.dumps(bundle)
    assert "Testpatient" not in text
    assert "1980" not in text
    specimen_json = bundle["entry"][0]["resource"]
    assert specimen_json["accessionIdentifier"]["value"] == ACC_LAV
    assert "receivedTime" in specimen_json
    with world.uow() as uow, pytest.raises(PermissionDenied):
        export_specimen_fhir(uow, world.clock, world.users[Role.MEDICAL_ASSISTANT], ACC_LAV)
    with world.uow() as uow:
        assert any(e.action.value == "export" for e in uow.audit.all_in_order())
