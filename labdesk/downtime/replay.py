"""Replay: send the outbox to the server in order, each command exactly once (item 4).

Every pending entry is decoded first; if any cannot be (a damaged file, another LabDesk
version), nothing is sent, because sending the later ones without it would change their
order. Then each entry goes to :meth:`SyncServer.apply`, which runs it through the server's
handlers with its idempotency key. The local marks come after the server's commits, in
local transactions of their own, ``MARK_EVERY`` entries at a time (one local commit per
entry would cost more than the server's work): a station killed before marking sends those
entries again next time, and the server answers from their keys that it already has them,
so nothing is applied twice.

A refusal keeps the entry as a ``conflict`` with the server's reason (never dropped) and
replay goes on with the next entry. A lost connection stops the replay; what was not marked
stays pending for the next run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labdesk.domain.clock import Clock
from labdesk.domain.errors import StorageError
from labdesk.downtime.errors import CommandRefused, OutboxUnreadable
from labdesk.downtime.handlers import register_all
from labdesk.downtime.outbox import OutboxEntry
from labdesk.downtime.ports import LocalStore, SyncServer
from labdesk.kernel import command_codec
from labdesk.kernel.messagebus import Command

logger = logging.getLogger(__name__)

MARK_EVERY = 50
"""Synced entries marked per local transaction."""


@dataclass(frozen=True)
class ReplayReport:
    """What one replay did."""

    sent: int
    """Entries the server now has (applied now or found applied earlier)."""
    already: int
    """Of those, entries the server had from an earlier, unconfirmed attempt."""
    conflicts: int
    left: int
    """Entries still pending (the connection was lost)."""
    seconds: float
    interrupted: str = ""
    """Why the replay stopped early, empty when it finished."""

    @property
    def rate(self) -> float:
        """Entries handled per second."""
        done = self.sent + self.conflicts
        return done / self.seconds if self.seconds > 0 else 0.0


def decode_pending(store: LocalStore) -> list[tuple[OutboxEntry, Command[Any]]]:
    """Every pending entry with its command, or a refusal naming the first bad entry.

    Raises:
        OutboxUnreadable: an entry of another format version or that cannot be decoded.
    """
    register_all()
    with store() as uow:
        entries = uow.outbox.pending()
    decoded = []
    for entry in entries:
        if entry.schema_version != command_codec.FORMAT:
            raise OutboxUnreadable(
                store.path,
                f"entry {entry.seq} was written in format {entry.schema_version}; this "
                f"LabDesk reads format {command_codec.FORMAT}.",
            )
        try:
            command = command_codec.decode(entry.payload_json)
        except command_codec.CommandDecodeError as exc:
            raise OutboxUnreadable(store.path, f"entry {entry.seq}: {exc.message}") from exc
        if command.idempotency_key != entry.key or type(command).__name__ != entry.command_type:
            raise OutboxUnreadable(
                store.path, f"entry {entry.seq} does not match the command it holds."
            )
        decoded.append((entry, command))
    return decoded


def replay_outbox(store: LocalStore, server: SyncServer, clock: Clock) -> ReplayReport:
    """Send every pending entry to ``server`` in ``seq`` order.

    Raises:
        OutboxUnreadable: nothing was sent (see :func:`decode_pending`).
    """
    todo = decode_pending(store)
    started = time.perf_counter()
    sent = already = conflicts = 0
    interrupted = ""
    synced: list[tuple[int, datetime]] = []
    for entry, command in todo:
        try:
            applied = server.apply(command, entry, store.station)
        except CommandRefused as refusal:
            _mark_synced(store, synced)
            with store() as uow:
                uow.outbox.mark_conflict(entry.seq, refusal.reason, clock.now())
                uow.commit()
            conflicts += 1
            logger.info("outbox entry %s refused by the server", entry.seq)
            continue
        except StorageError as exc:
            interrupted = exc.message
            logger.info("replay stopped at outbox entry %s: %s", entry.seq, exc.message)
            break
        synced.append((entry.seq, applied.synced_at))
        if len(synced) >= MARK_EVERY:
            _mark_synced(store, synced)
        sent += 1
        already += applied.earlier
    _mark_synced(store, synced)
    seconds = time.perf_counter() - started
    left = len(todo) - sent - conflicts
    return ReplayReport(sent, already, conflicts, left, seconds, interrupted)


def _mark_synced(store: LocalStore, synced: list[tuple[int, datetime]]) -> None:
    """Mark ``synced`` in one local transaction and empty it."""
    if not synced:
        return
    with store() as uow:
        for seq, at in synced:
            uow.outbox.mark_synced(seq, at)
        uow.commit()
    synced.clear()
