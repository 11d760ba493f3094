"""Group commit: several frames in one transaction keep every store-then-acknowledge rule."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hl7.client import MLLPClient
from hl7_world import ACC_LAV, ACC_PST, World, build_world, group, obx, order_message, oru
from sqlalchemy import Engine
from test_hl7_mllp import msa, send

from labdesk.domain.audit import AuditEntry
from labdesk.domain.clock import FixedClock
from labdesk.domain.hashchain import GENESIS, link_hash
from labdesk.domain.hl7 import MessageStatus
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.result import ResultStatus
from labdesk.domain.result_chain import current_results
from labdesk.interface.ingest_audit import id_ranges
from labdesk.interface.listener import Hl7Listener


@pytest.fixture
def world(engine: Engine, clock: FixedClock) -> World:
    return build_world(engine, clock)


def _statuses(world: World) -> dict[MessageStatus, int]:
    with world.uow() as uow:
        return uow.hl7.count_by_status()


def _hl7_audit(world: World) -> list[AuditEntry]:
    with world.uow() as uow:
        entries = list(uow.audit.all_in_order())
        uow.session.expunge_all()
    return [e for e in entries if e.entity == "hl7_message"]


def _codes(replies: list[str]) -> list[str]:
    return [msa(r)[1] for r in replies]


def test_a_group_applies_in_order_with_one_audit_entry_listing_the_ids(world: World) -> None:
    frames = [
        oru("G1", group("K", "P", obx("2823-3", "4.1", status="P"), filler=ACC_PST)),
        oru("G2", group("K", "F", obx("2823-3", "4.3"), filler=ACC_PST)),  # supersedes G1's
        oru("G2", group("K", "F", obx("2823-3", "9.9"), filler=ACC_PST)),  # repeat in group
        oru("G3", group("K", "C", obx("2823-3", "4.4", status="C"), filler=ACC_PST)),
    ]
    replies = world.ingestor.handle_frames([(f, "test") for f in frames])
    assert [o.ack_code.value for r in replies for o in r.outcomes] == ["AA"] * 4
    assert "Duplicate" in replies[2].outcomes[0].text
    assert _statuses(world) == {MessageStatus.PROCESSED: 3, MessageStatus.DUPLICATE: 1}
    with world.uow() as uow:
        rows = list(uow.results.for_ordered_test(world.tests["K"]))
        ot = uow.hl7.ordered_test(world.tests["K"])
        assert ot is not None
        assert ot.status is Status.FINAL
        assert [r.value for r in rows] == ["4.1", "4.3", "4.4"]
        assert [r.supersedes_id for r in rows] == [None, rows[0].id, rows[1].id]
        assert [r.value for r in current_results(rows)] == ["4.4"]
        assert current_results(rows)[0].status is ResultStatus.CORRECTED
        duplicate = uow.hl7.message(replies[2].outcomes[0].message_id or 0)
        assert duplicate is not None
        assert duplicate.duplicate_of_id == replies[1].outcomes[0].message_id
    entries = _hl7_audit(world)
    assert len(entries) == 1
    applied = [replies[i].outcomes[0].message_id for i in (0, 1, 3)]
    assert f"ids {','.join(id_ranges([i for i in applied if i]))}" in entries[0].detail
    assert "applied 3 message(s)" in entries[0].detail


def test_a_group_with_an_order_applies_results_one_query_at_a_time(world: World) -> None:
    frames = [
        oru("M1", group("K", "P", obx("2823-3", "4.1", status="P"), filler=ACC_PST)),
        order_message("M2", ("NW", "PO700", "K")),  # an order: no prefetched lookup
        oru("M3", group("K", "F", obx("2823-3", "4.2"), filler=ACC_PST)),  # supersedes M1's
    ]
    replies = world.ingestor.handle_frames([(f, "test") for f in frames])

    assert _codes([r.ack for r in replies]) == ["AA", "AA", "AA"]
    with world.uow() as uow:
        rows = list(uow.results.for_ordered_test(world.tests["K"]))
        ot = uow.hl7.ordered_test(world.tests["K"])
        assert ot is not None
        assert ot.status is Status.FINAL
        assert uow.orders.by_placer_number("PO700") is not None
        assert [(r.value, r.supersedes_id) for r in rows] == [("4.1", None), ("4.2", rows[0].id)]
    assert len(_hl7_audit(world)) == 1


def test_a_bad_message_in_a_group_is_a_dead_letter_and_the_others_apply(world: World) -> None:
    frames = [
        oru("B1", group("K", "F", obx("2823-3", "4.0"), filler=ACC_PST)),
        oru("B2", group("K", "F", obx("2823-3", "4", status="Q"), filler=ACC_PST)),  # bad OBX-11
        order_message("B3", ("NW", "PO900", "NOSUCHTEST")),  # fails while applying: AE
        "garbage",
        oru("B4", group("CBC", "F", obx("718-7", "13.5"), filler=ACC_LAV)),
    ]
    replies = world.ingestor.handle_frames([(f, "test") for f in frames])
    assert _codes([r.ack for r in replies]) == ["AA", "AE", "AE", "AR", "AA"]
    assert _statuses(world) == {
        MessageStatus.PROCESSED: 2,
        MessageStatus.ERROR: 2,
        MessageStatus.REJECTED: 1,
    }
    with world.uow() as uow:
        assert len(uow.results.for_ordered_test(world.tests["K"])) == 1
        assert len(uow.results.for_ordered_test(world.tests["CBC"])) == 1


def test_a_repeat_of_an_earlier_group_is_not_applied_again(world: World) -> None:
    frames = [(oru(f"R{i}", group("K", "F", obx("2823-3", f"4.{i}"), filler=ACC_PST)), "t")
              for i in range(3)]  # fmt: skip
    world.ingestor.handle_frames(frames)
    again = world.ingestor.handle_frames(frames)
    assert all("Duplicate" in r.outcomes[0].text for r in again)
    with world.uow() as uow:
        assert len(uow.results.for_ordered_test(world.tests["K"])) == 3


def test_id_ranges() -> None:
    assert id_ranges([7, 1, 2, 3, 9, 10]) == ["1-3", "7", "9-10"]
    assert id_ranges([]) == []


def test_audit_chain_stays_valid(world: World) -> None:
    world.ingestor.handle_frames(
        [(oru(f"C{i}", group("K", "F", obx("2823-3", "4"), filler=ACC_PST)), "t") for i in range(5)]
    )
    with world.uow() as uow:
        entries = list(uow.audit.all_in_order())
        previous = GENESIS
        for entry in entries:
            assert entry.prev_hash == previous
            assert entry.hash == link_hash(previous, entry.content())
            previous = entry.hash


@pytest.fixture
def listener(world: World) -> Iterator[Hl7Listener]:
    server = Hl7Listener(world.ingestor, host="127.0.0.1", port=0, read_timeout_s=2.0)
    server.start()
    yield server
    server.stop()


def test_concurrent_senders_are_each_answered_after_their_commit(
    world: World, listener: Hl7Listener
) -> None:
    answers: dict[int, list[str]] = {}

    def sender(n: int) -> None:
        with MLLPClient("127.0.0.1", listener.port) as client:
            answers[n] = [
                send(client, oru(f"S{n}-{i}", group("K", "F", obx("2823-3", "4"), filler=ACC_PST)))
                for i in range(10)
            ]

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == list(range(6))
    assert all(_codes(a) == ["AA"] * 10 for a in answers.values())
    assert _statuses(world) == {MessageStatus.PROCESSED: 60}
    with world.uow() as uow:
        assert len(uow.results.for_ordered_test(world.tests["K"])) == 60
    assert sum(e.detail.count("message(s)") for e in _hl7_audit(world)) >= 1
