"""Replay order and bookkeeping on fakes: in seq order, refusals kept, a cut leaves the rest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import StorageError
from labdesk.downtime.blocks import AccessionBlock
from labdesk.downtime.errors import CommandRefused, OutboxUnreadable
from labdesk.downtime.outbox import NewEntry, OutboxEntry, OutboxState, new_entry
from labdesk.downtime.ports import Applied
from labdesk.downtime.replay import replay_outbox
from labdesk.kernel.messagebus import Command
from labdesk.station.commands import PlaceOrder

AT = datetime(2026, 3, 2, 9, 14, tzinfo=UTC)


@dataclass
class FakeOutbox:
    rows: list[OutboxEntry] = field(default_factory=list)

    def append(self, entry: NewEntry) -> int:
        seq = len(self.rows) + 1
        self.rows.append(OutboxEntry(seq=seq, state=OutboxState.PENDING, **vars(entry)))
        return seq

    def pending(self) -> list[OutboxEntry]:
        return [r for r in self.rows if r.state is OutboxState.PENDING]

    def conflicts(self) -> list[OutboxEntry]:
        return [r for r in self.rows if r.state is OutboxState.CONFLICT]

    def mark_synced(self, seq: int, synced_at: datetime) -> None:
        self._set(seq, state=OutboxState.SYNCED, synced_at=synced_at)

    def mark_conflict(self, seq: int, reason: str, at: datetime) -> None:
        self._set(seq, state=OutboxState.CONFLICT, synced_at=at, server_reason=reason)

    def counts(self) -> dict[OutboxState, int]:
        return {s: sum(r.state is s for r in self.rows) for s in OutboxState}

    def last_synced_at(self) -> datetime | None:
        return max((r.synced_at for r in self.rows if r.synced_at), default=None)

    def _set(self, seq: int, **changes: Any) -> None:
        self.rows[seq - 1] = replace(self.rows[seq - 1], **changes)


@dataclass
class FakeBlocks:
    rows: list[AccessionBlock] = field(default_factory=list)

    def all(self) -> list[AccessionBlock]:
        return list(self.rows)

    def put(self, block: AccessionBlock) -> None:
        self.rows = [b for b in self.rows if b.id != block.id] + [block]


@dataclass
class FakeIds:
    rows: dict[tuple[str, int], int] = field(default_factory=dict)

    def put(self, kind: str, local_id: int, server_id: int) -> None:
        self.rows[kind, local_id] = server_id

    def all(self) -> dict[tuple[str, int], int]:
        return dict(self.rows)


class FakeUow:
    def __init__(self, store: FakeStore) -> None:
        self.outbox = store.outbox
        self.blocks = store.blocks
        self.ids = store.ids

    def __enter__(self) -> FakeUow:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def commit(self) -> None:
        return None


@dataclass
class FakeStore:
    path: Path = Path("/station/station.sqlite3")
    station: str = "DRAW-2"
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    blocks: FakeBlocks = field(default_factory=FakeBlocks)
    ids: FakeIds = field(default_factory=FakeIds)

    def __call__(self) -> FakeUow:
        return FakeUow(self)


@dataclass
class FakeServer:
    refuse: set[str] = field(default_factory=set)
    cut_at: int | None = None
    seen: list[tuple[int, str]] = field(default_factory=list)

    def hold(self, entry: OutboxEntry, station: str, reason: str) -> None:
        self.seen.append((entry.seq, "held"))

    def apply(self, command: Command[Any], entry: OutboxEntry, station: str) -> Applied:
        if entry.seq == self.cut_at:
            raise StorageError("The server cannot be reached.")
        self.seen.append((entry.seq, command.idempotency_key))
        if command.idempotency_key in self.refuse:
            raise CommandRefused("the order was cancelled on the server")
        return Applied(AT + timedelta(hours=1))

    def reserve_block(self, station: str, year: int, size: int) -> AccessionBlock:
        raise AssertionError("not used")

    def report_issued(self, block: AccessionBlock) -> None:
        raise AssertionError("not used")

    def blocks(self, station: str) -> list[AccessionBlock]:
        return []


def _queue(store: FakeStore, n: int) -> list[str]:
    clock = FixedClock(AT)
    keys = []
    for i in range(n):
        command = PlaceOrder(patient_id=i + 1, test_codes=("CBC",), ordering_provider="Dr. A")
        store.outbox.append(new_entry(command, None, clock))
        keys.append(command.idempotency_key)
        clock.advance(timedelta(minutes=1))
    return keys


def test_entries_go_in_seq_order_and_are_marked_synced() -> None:
    store, server = FakeStore(), FakeServer()
    keys = _queue(store, 5)
    report = replay_outbox(store, server, FixedClock(AT))
    assert server.seen == list(enumerate(keys, start=1))
    assert (report.sent, report.conflicts, report.left, report.interrupted) == (5, 0, 0, "")
    assert {r.state for r in store.outbox.rows} == {OutboxState.SYNCED}
    assert [r.happened_at for r in store.outbox.rows] == [
        AT + timedelta(minutes=i) for i in range(5)
    ]


def test_a_refused_command_is_kept_as_a_conflict_and_replay_goes_on() -> None:
    store = FakeStore()
    keys = _queue(store, 3)
    server = FakeServer(refuse={keys[1]})
    report = replay_outbox(store, server, FixedClock(AT))
    assert (report.sent, report.conflicts) == (2, 1)
    refused = store.outbox.rows[1]
    assert refused.state is OutboxState.CONFLICT
    assert refused.server_reason == "the order was cancelled on the server"
    assert refused.payload_json  # kept whole, never dropped
    assert [s for s, _ in server.seen] == [1, 2, 3]


def test_a_lost_connection_stops_replay_and_leaves_the_rest_pending() -> None:
    store = FakeStore()
    _queue(store, 4)
    report = replay_outbox(store, FakeServer(cut_at=3), FixedClock(AT))
    assert (report.sent, report.left) == (2, 2)
    assert "cannot be reached" in report.interrupted
    assert [r.state for r in store.outbox.rows] == [OutboxState.SYNCED] * 2 + [
        OutboxState.PENDING
    ] * 2
    again = replay_outbox(store, FakeServer(), FixedClock(AT))
    assert (again.sent, again.left) == (2, 0)


@pytest.mark.parametrize("damage", ["format", "json", "type", "key"])
def test_an_unreadable_entry_refuses_the_whole_replay(damage: str) -> None:
    store, server = FakeStore(), FakeServer()
    _queue(store, 3)
    row = store.outbox.rows[1]
    doc = json.loads(row.payload_json)
    if damage == "format":
        row = replace(row, schema_version=0)
    elif damage == "json":
        row = replace(row, payload_json=row.payload_json[:-5])
    elif damage == "type":
        doc["type"] = "DrawBloodTheOldWay"
        row = replace(row, payload_json=json.dumps(doc))
    else:
        row = replace(row, key="someone-elses-key")
    store.outbox.rows[1] = row
    with pytest.raises(OutboxUnreadable, match="entry 2") as refused:
        replay_outbox(store, server, FixedClock(AT))
    assert server.seen == []  # nothing sent, not even the good first entry
    assert "Keep the file /station/station.sqlite3" in refused.value.hint
    assert all(r.state is OutboxState.PENDING for r in store.outbox.rows)
