"""The seams of downtime work: the station's local store and the server it syncs with.

The local store is one owner-only SQLite file per station. Its unit of work holds the
outbox and the station's accession blocks in one transaction, and other local tables (the
replica, later) join that same transaction, which is how an offline action and its outbox
entry are committed together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from labdesk.downtime.blocks import AccessionBlock
from labdesk.downtime.outbox import NewEntry, OutboxEntry, OutboxState
from labdesk.kernel.messagebus import Command


class OutboxRepository(Protocol):
    """The ``outbox`` table of the station file."""

    def append(self, entry: NewEntry) -> int:
        """Add ``entry`` in the open transaction; returns its ``seq``."""
        ...

    def pending(self) -> list[OutboxEntry]:
        """Entries not yet sent (nor refused), in ``seq`` order."""
        ...

    def conflicts(self) -> list[OutboxEntry]:
        """Entries the server refused, in ``seq`` order."""
        ...

    def mark_synced(self, seq: int, synced_at: datetime) -> None:
        """Record that the server has entry ``seq``."""
        ...

    def mark_conflict(self, seq: int, reason: str, at: datetime) -> None:
        """Record that the server refused entry ``seq`` and why."""
        ...

    def counts(self) -> dict[OutboxState, int]:
        """How many entries are in each state."""
        ...

    def last_synced_at(self) -> datetime | None:
        """When the last entry was synced, None if never."""
        ...


class BlockRepository(Protocol):
    """The station's copy of its accession blocks."""

    def all(self) -> list[AccessionBlock]:
        """Every block this station holds, oldest first."""
        ...

    def put(self, block: AccessionBlock) -> None:
        """Add or replace a block (by its server id)."""
        ...


class IdMapRepository(Protocol):
    """Ids created offline and the server's ids for the same rows."""

    def put(self, kind: str, local_id: int, server_id: int) -> None:
        """Record that local ``kind`` ``local_id`` is ``server_id`` on the server."""
        ...

    def all(self) -> dict[tuple[str, int], int]:
        """Every mapping, ``(kind, local_id) -> server_id``."""
        ...


class LocalUnitOfWork(Protocol):
    """One transaction on the station file; rolls back unless committed."""

    @property
    def ids(self) -> IdMapRepository:
        """The local-to-server id map, in this transaction."""
        ...

    @property
    def outbox(self) -> OutboxRepository:
        """The outbox, in this transaction."""
        ...

    @property
    def blocks(self) -> BlockRepository:
        """The station's blocks, in this transaction."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make the transaction permanent."""
        ...


class LocalStore(Protocol):
    """The station file: where it is, and units of work over it."""

    @property
    def path(self) -> Path:
        """The file, for messages to the administrator."""
        ...

    @property
    def station(self) -> str:
        """The station code the file belongs to."""
        ...

    def __call__(self) -> LocalUnitOfWork:
        """A fresh unit of work."""
        ...


@dataclass(frozen=True)
class Applied:
    """The server has the command (now or from an earlier attempt)."""

    synced_at: datetime
    earlier: bool = False
    result: object = None
    """What the server's handler returned (None when it had the command earlier)."""
    ids: tuple[tuple[str, int], ...] = ()
    """The ``(kind, id)`` pairs of the rows the command created on the server, in the
    order the station recorded its own (an order's ordered tests included); empty: read
    them from ``result``."""


class SyncServer(Protocol):
    """What a station asks of the server when it is reachable."""

    def reserve_block(self, station: str, year: int, size: int) -> AccessionBlock:
        """Reserve ``size`` serials of ``year`` for ``station``.

        Raises:
            BlockRefused: the year's serials are used up.
            StorageError: the server cannot be reached.
        """
        ...

    def report_issued(self, block: AccessionBlock) -> None:
        """Tell the server how far the station got in ``block``."""
        ...

    def blocks(self, station: str) -> list[AccessionBlock]:
        """The blocks the server reserved for ``station``."""
        ...

    def hold(self, entry: OutboxEntry, station: str, reason: str) -> None:
        """Record on the server that ``entry`` is kept unsent with a refused one (``reason``).

        Raises:
            StorageError: the server cannot be reached (try again later).
        """
        ...

    def apply(self, command: Command[Any], entry: OutboxEntry, station: str) -> Applied:
        """Run a replayed command through the server's handlers, exactly once.

        Raises:
            CommandRefused: the server's rules refused it (kept as a conflict).
            StorageError: the server cannot be reached (try again later).
        """
        ...

    def open_conflicts(self, station: str) -> int:
        """How many reconciliation items of ``station`` are still open on the server.

        Raises:
            StorageError: the server cannot be reached.
        """
        ...


ServerOpener = Callable[[], SyncServer]
