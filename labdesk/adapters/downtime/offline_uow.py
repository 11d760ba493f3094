"""Units of work over the station file: the server's repositories on the replica.

An offline command runs the same handlers as online, on a :class:`SqlAlchemyUnitOfWork`
bound to the station file. Two things differ, both on the same Session so one commit keeps
everything together:

- ``outbox`` and ``blocks`` (the station's own tables) sit beside the repositories, so the
  bus appends the command to the outbox in the command's own transaction;
- ``counters`` hands out accession serials from the station's reserved blocks instead of
  the clinic-wide counter (which only the server may advance), and remembers which serials
  it took (the entry's *pins*, so replay gives the server the very same IDs).
"""

from __future__ import annotations

from collections.abc import Callable

from labdesk.adapters.downtime.station_store import BlockTable, OutboxTable, StationStore
from labdesk.adapters.repositories import CounterRepository
from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork
from labdesk.downtime.blocks import usable
from labdesk.downtime.errors import BlockExhausted
from labdesk.downtime.outbox import ACCESSION_COUNTER

MANIFEST_PREFIX = "manifest-"
OFFLINE_MANIFEST_BASE = 900_000_000
"""Offline manifest serials start here (a manifest serial has nine digits)."""


class BlockCounters(CounterRepository):
    """Counters of the offline unit of work: accession serials come from the blocks.

    Other counters (audit and custody sequence numbers) stay local: the server numbers
    its own copies when the command is replayed.
    """

    def __init__(self, base: CounterRepository, blocks: BlockTable, station: str) -> None:
        super().__init__(base.session)
        self._blocks = blocks
        self._station = station
        self.pins: list[tuple[str, int]] = []
        """``(counter, serial)`` taken in this transaction, in order."""

    def next_value(self, name: str) -> int:
        """The next serial of the station's blocks for ``accession-YYYY``, else local.

        Raises:
            BlockExhausted: no block of that year has a serial left.
        """
        if name.startswith(MANIFEST_PREFIX):
            # Offline manifests number from a range no server manifest reaches, so a local
            # number never meets a replicated one; replay maps it to the server's number.
            return OFFLINE_MANIFEST_BASE + super().next_value(f"offline-{name}")
        if not name.startswith(ACCESSION_COUNTER):
            return super().next_value(name)
        year = int(name.removeprefix(ACCESSION_COUNTER))
        blocks = usable(self._blocks.all(), year)
        if not blocks:
            raise BlockExhausted(self._station, year)
        block = blocks[0]
        serial = block.issued_up_to + 1
        block, _accession = block.take()
        self._blocks.put(block)
        self.pins.append((name, serial))
        return serial


class OfflineUnitOfWork(SqlAlchemyUnitOfWork):
    """One transaction on the station file with the server's repositories, outbox, blocks."""

    outbox: OutboxTable
    blocks: BlockTable
    counters: BlockCounters

    def __init__(self, store: StationStore) -> None:
        super().__init__(store.engine)
        self._station = store.station
        self.on_first_commit: Callable[[OfflineUnitOfWork], None] | None = None
        """Called in the transaction of the first commit (the bus appends the outbox entry:
        services commit themselves, so the first commit is where the effect lands)."""
        self.queued_seq: int | None = None
        """The outbox entry this unit of work appended, once it did."""

    def commit(self) -> None:
        """Append the command's outbox entry on the first commit, then commit."""
        hook, self.on_first_commit = self.on_first_commit, None
        if hook is not None:
            hook(self)
        super().commit()

    def __enter__(self) -> OfflineUnitOfWork:
        super().__enter__()
        self.outbox = OutboxTable(self.session)
        self.blocks = BlockTable(self.session)
        self.counters = BlockCounters(self.counters, self.blocks, self._station)
        return self


class OfflineUnitOfWorkFactory:
    """Fresh offline units of work over one station file (a ``UowFactory``)."""

    def __init__(self, store: StationStore) -> None:
        self.store = store

    def __call__(self) -> OfflineUnitOfWork:
        return OfflineUnitOfWork(self.store)
