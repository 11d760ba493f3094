"""The station's outbox: each offline action as a command, kept until the server has it.

An entry is written by :func:`queue_command` in the same local transaction as the action's
local effect (the caller's :class:`~labdesk.downtime.ports.LocalUnitOfWork`), so either
both are on disk or neither is. Entries are never deleted: a synced one keeps when it
happened and when it synced, and one the server refused stays as a ``conflict`` with the
server's reason for the reconciliation worklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from labdesk.domain.accession import make_accession
from labdesk.domain.clock import Clock
from labdesk.kernel import command_codec
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import Command


class OutboxState(StrEnum):
    """Where an outbox entry stands."""

    PENDING = "pending"
    SYNCED = "synced"
    CONFLICT = "conflict"


ACCESSION_COUNTER = "accession-"
"""Pins of counters named ``accession-YYYY`` are the accessions an entry issued."""


@dataclass(frozen=True)
class NewEntry:
    """An outbox entry before the store numbers it."""

    key: str
    command_type: str
    payload_json: str
    actor_id: int | None
    happened_at: datetime
    schema_version: int
    pins: tuple[tuple[str, int], ...] = ()
    """``(counter, serial)`` the command took offline (its accession IDs), replayed as is."""
    local_ids: tuple[tuple[str, int], ...] = ()
    """``(kind, id)`` the command created locally (paired with the server's on replay)."""


@dataclass(frozen=True)
class OutboxEntry:
    """One stored entry (``seq`` orders the replay)."""

    seq: int
    key: str
    command_type: str
    payload_json: str
    actor_id: int | None
    happened_at: datetime
    schema_version: int
    state: OutboxState
    synced_at: datetime | None = None
    server_reason: str | None = None
    pins: tuple[tuple[str, int], ...] = ()
    """``(counter, serial)`` the command took offline; the server must issue the same."""
    local_ids: tuple[tuple[str, int], ...] = ()
    """``(kind, id)`` the command created locally, in its result's order."""

    def accessions(self) -> list[str]:
        """The accession IDs the command took from the station's blocks (its pins of the
        ``accession-<year>`` counters), with their check digits, in the order taken."""
        return [
            make_accession(int(counter.removeprefix(ACCESSION_COUNTER)), serial)
            for counter, serial in self.pins
            if counter.startswith(ACCESSION_COUNTER)
        ]


def new_entry(
    command: Command[Any],
    actor: SignedInUser | None,
    clock: Clock,
    pins: tuple[tuple[str, int], ...] = (),
    local_ids: tuple[tuple[str, int], ...] = (),
) -> NewEntry:
    """The entry for ``command`` done now by ``actor``.

    Raises:
        CommandNotPortable: the command holds something the outbox cannot keep.
    """
    return NewEntry(
        key=command.idempotency_key,
        command_type=type(command).__name__,
        payload_json=command_codec.encode(command),
        actor_id=actor.id if actor is not None else None,
        happened_at=clock.now(),
        schema_version=command_codec.FORMAT,
        pins=pins,
        local_ids=local_ids,
    )
