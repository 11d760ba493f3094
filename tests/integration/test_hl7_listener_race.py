"""Two listeners on one database apply each message once (issue 15 item 2).

"Applied once" is a database rule (migration 0010: unique applied sender + MSH-10), so it
holds across processes: two real ``labdesk hl7 serve`` processes on PostgreSQL receive the
same 300 ORU^R01 at the same moment, and every message is answered AA by both while
exactly one result row is stored for each.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from hl7.client import MLLPClient
from hl7_world import World, build_world, group, obx, oru
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from test_hl7_mllp import msa, send

from labdesk.adapters import migrate
from labdesk.adapters.orm.hl7 import hl7_messages
from labdesk.domain.accession import make_accession
from labdesk.domain.clock import FixedClock
from labdesk.domain.hl7 import AckCode, MessageStatus
from labdesk.domain.order import OrderedTest
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.people import Role
from labdesk.domain.result_chain import current_results
from labdesk.domain.specimen import Specimen, SpecimenStatus

MESSAGES = 300
SENDERS_PER_LISTENER = 3


def _message_row(control: str, status: MessageStatus) -> dict[str, object]:
    return {
        "control_id": control,
        "sender": "LABSYS|REFLAB",
        "message_type": "ORU^R01",
        "version": "2.5.1",
        "received_at": datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        "source": "test",
        "raw": "MSH|...",
        "status": status,
        "ack_code": AckCode.ACCEPT,
        "error": "",
        "resolution": "",
    }


# ---------------------------------------------------------------- the constraint


def test_the_database_refuses_a_second_applied_copy_but_keeps_duplicates(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(hl7_messages), [_message_row("C1", MessageStatus.PROCESSED)])
        conn.execute(insert(hl7_messages), [_message_row("C1", MessageStatus.DUPLICATE)])
        conn.execute(insert(hl7_messages), [_message_row("C1", MessageStatus.ERROR)])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(hl7_messages), [_message_row("C1", MessageStatus.PROCESSED)])


def test_upgrade_to_0010_turns_existing_double_applications_into_duplicates(
    empty_engine: Engine,
) -> None:
    cfg = migrate.alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009")
    rows = [
        ("D1", MessageStatus.PROCESSED),
        ("D2", MessageStatus.PROCESSED),
        ("D1", MessageStatus.PROCESSED),  # applied twice by two listeners
        ("D1", MessageStatus.ERROR),
        ("D1", MessageStatus.PROCESSED),  # and a third time
        ("D2", MessageStatus.DUPLICATE),
    ]
    with empty_engine.begin() as conn:
        conn.execute(insert(hl7_messages), [_message_row(c, s) for c, s in rows])
    migrate.upgrade(empty_engine)
    c = hl7_messages.c
    with empty_engine.connect() as conn:
        found = conn.execute(
            select(c.id, c.control_id, c.status, c.duplicate_of_id, c.error).order_by(c.id)
        ).all()
    assert [(r[1], r[2], r[3]) for r in found] == [
        ("D1", MessageStatus.PROCESSED, None),
        ("D2", MessageStatus.PROCESSED, None),
        ("D1", MessageStatus.DUPLICATE, 1),
        ("D1", MessageStatus.ERROR, None),
        ("D1", MessageStatus.DUPLICATE, 1),
        ("D2", MessageStatus.DUPLICATE, None),
    ]
    assert "0010" in found[2][4]
    assert "Review the results" in found[4][4]
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(insert(hl7_messages), [_message_row("D2", MessageStatus.PROCESSED)])


# ---------------------------------------------------------------- two processes


def _add_tests(world: World, count: int) -> list[tuple[str, int]]:
    """``count`` specimens with one ordered potassium each: (accession, ordered test id)."""
    now = world.clock.now()
    made: list[tuple[str, int]] = []
    with world.uow() as uow:
        site_id = uow.specimens.get(next(iter(world.specimen_ids.values()))).site_id  # type: ignore[union-attr]
        for n in range(count):
            accession = make_accession(2026, 1000 + n)
            specimen = Specimen(
                accession=accession,
                patient_id=world.patient_id,
                container_code="PST",
                site_id=site_id,
                status=SpecimenStatus.RECEIVED,
                collected_at=now - timedelta(hours=2),
                collected_by_id=world.users[Role.MEDICAL_ASSISTANT].id,
                created_at=now,
                volume_ml=4.0,
            )
            uow.specimens.add(specimen)
            uow.specimens.flush()
            test = OrderedTest(
                order_id=world.order_id,
                test_code="K",
                status=Status.RECEIVED,
                specimen_id=specimen.id,
                status_changed_at=now,
            )
            uow.orders.add_test(test)
            uow.orders.flush()
            assert test.id is not None
            made.append((accession, test.id))
        uow.commit()
    return made


class _Serve:
    """One ``python -m labdesk hl7 serve`` process on a free port."""

    def __init__(self, url: str, home: Path) -> None:
        env = {
            **os.environ,
            "LABDESK_DATABASE_URL": url,
            "LABDESK_DATA_DIR": str(home / "data"),
            "LABDESK_CONFIG": str(home / "absent.toml"),
            "LABDESK_TIMEZONE": "UTC",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labdesk", "hl7", "serve", "--port", "0", "--timeout", "20"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the command prints this once listening
        found = re.search(r"Listening for HL7 on 127\.0\.0\.1:(\d+)", line)
        if found is None:
            self.stop()
            pytest.fail(f"hl7 serve did not start: {line!r} {self.process.stderr.read()!r}")  # type: ignore[union-attr]
        self.port = int(found.group(1))

    def stop(self) -> str:
        """Ctrl+C, as an operator stops it; returns what it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            out, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out


@pytest.fixture
def two_listeners(pg_url: str, pg_engine: Engine, tmp_path: Path) -> Iterator[list[_Serve]]:
    servers: list[_Serve] = []
    try:
        for n in range(2):
            servers.append(_Serve(pg_url, tmp_path / f"listener{n}"))
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_two_listener_processes_receiving_the_same_messages_apply_each_once(
    pg_engine: Engine, clock: FixedClock, two_listeners: list[_Serve]
) -> None:
    world = build_world(pg_engine, clock)
    targets = _add_tests(world, MESSAGES)
    messages = [
        (f"RACE{n}", oru(f"RACE{n}", group("K", "F", obx("2823-3", f"4.{n}"), filler=accession)))
        for n, (accession, _) in enumerate(targets)
    ]
    slices = [messages[i::SENDERS_PER_LISTENER] for i in range(SENDERS_PER_LISTENER)]
    start = threading.Barrier(2 * SENDERS_PER_LISTENER)
    answers: dict[tuple[int, int], list[tuple[str, list[str]]]] = {}

    def sender(listener: int, part: int) -> None:
        with MLLPClient("127.0.0.1", two_listeners[listener].port) as client:
            start.wait(30)
            answers[listener, part] = [(c, msa(send(client, m))) for c, m in slices[part]]

    threads = [
        threading.Thread(target=sender, args=(listener, part))
        for listener in range(2)
        for part in range(SENDERS_PER_LISTENER)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    replies = [reply for part in answers.values() for reply in part]
    assert len(replies) == 2 * MESSAGES  # every message answered by both listeners
    assert all(fields[1:3] == ["AA", control] for control, fields in replies)
    with world.uow() as uow:
        assert uow.hl7.count_by_status() == {
            MessageStatus.PROCESSED: MESSAGES,
            MessageStatus.DUPLICATE: MESSAGES,
        }
        per_test = {tid: list(uow.results.for_ordered_test(tid)) for _, tid in targets}
        assert sorted(len(rows) for rows in per_test.values()) == [1] * MESSAGES
        assert all(len(current_results(rows)) == 1 for rows in per_test.values())
    c = hl7_messages.c
    with pg_engine.connect() as conn:
        twice = conn.execute(
            select(c.sender, c.control_id)
            .where(c.status == MessageStatus.PROCESSED)
            .group_by(c.sender, c.control_id)
            .having(func.count() > 1)
        ).all()
    assert twice == []
    outputs = [server.stop() for server in two_listeners]
    assert sum(int(re.search(r"(\d+) accepted", o).group(1)) for o in outputs) == 2 * MESSAGES  # type: ignore[union-attr]


def test_two_listeners_applying_different_results_for_the_same_tests_keep_one_current(
    pg_engine: Engine, clock: FixedClock, two_listeners: list[_Serve]
) -> None:
    """Listener 0 gets result A and listener 1 result B for each test, at the same moment:
    the chain must read what the other committed (row lock on the ordered test), so one
    supersedes the other and each test keeps exactly one current result."""
    world = build_world(pg_engine, clock)
    targets = _add_tests(world, MESSAGES // 2)
    per_listener = [
        [
            (
                f"X{side}{n}",
                oru(f"X{side}{n}", group("K", "F", obx("2823-3", f"{n}.{side}"), filler=acc)),
            )
            for n, (acc, _) in enumerate(targets)
        ]
        for side in range(2)
    ]
    start = threading.Barrier(2 * SENDERS_PER_LISTENER)
    answers: list[list[str]] = []

    def sender(listener: int, part: int) -> None:
        mine = per_listener[listener][part::SENDERS_PER_LISTENER]
        with MLLPClient("127.0.0.1", two_listeners[listener].port) as client:
            start.wait(30)
            answers.extend(msa(send(client, m)) for _, m in mine)

    threads = [
        threading.Thread(target=sender, args=(listener, part))
        for listener in range(2)
        for part in range(SENDERS_PER_LISTENER)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answers) == 2 * len(targets)
    assert all(fields[1] == "AA" for fields in answers)
    with world.uow() as uow:
        assert uow.hl7.count_by_status() == {MessageStatus.PROCESSED: 2 * len(targets)}
        for _, tid in targets:
            rows = list(uow.results.for_ordered_test(tid))
            assert len(rows) == 2
            assert len(current_results(rows)) == 1, [(r.id, r.supersedes_id) for r in rows]
