"""Accession blocks: serials a station holds so it can label tubes while offline (item 2).

The server reserves ``size`` consecutive serials of the year's accession counter for one
station (the counter that issues online IDs), so an ID from a block never collides with an
online one or another station's. Offline, the station takes the next serial of its oldest
block of the current year and builds the ID with the usual check digit. Online, it reports
how far it got, so the server knows which part of each block is used and which is reserved
but unused (a gap, not a lost tube).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from labdesk.domain.accession import make_accession
from labdesk.downtime.errors import BlockExhausted

DEFAULT_BLOCK_SIZE = 200
DEFAULT_TOP_UP_BELOW = 50


@dataclass(frozen=True)
class BlockPolicy:
    """How many serials a station reserves at a time, and when it asks for more."""

    size: int = DEFAULT_BLOCK_SIZE
    top_up_below: int = DEFAULT_TOP_UP_BELOW

    def __post_init__(self) -> None:
        if self.size < 1 or not 0 <= self.top_up_below <= self.size:
            raise ValueError(f"bad accession block policy {self}")


@dataclass(frozen=True)
class AccessionBlock:
    """Serials ``first..last`` of ``year`` reserved for ``station``.

    ``issued_up_to`` is the last serial used (``first - 1`` when none).
    """

    id: int
    station: str
    year: int
    first: int
    last: int
    issued_up_to: int
    reserved_at: datetime

    @property
    def size(self) -> int:
        """Serials in the block."""
        return self.last - self.first + 1

    @property
    def used(self) -> int:
        """Serials issued from the block."""
        return self.issued_up_to - self.first + 1

    @property
    def remaining(self) -> int:
        """Serials still free."""
        return self.last - self.issued_up_to

    @property
    def unused_range(self) -> tuple[int, int] | None:
        """The reserved serials not (yet) issued, or None when the block is used up."""
        return (self.issued_up_to + 1, self.last) if self.remaining else None

    def id_of(self, serial: int) -> str:
        """The accession ID of ``serial`` (year prefix and check digit)."""
        return make_accession(self.year, serial)

    def take(self) -> tuple[AccessionBlock, str]:
        """The block after issuing its next serial, and that serial's accession ID.

        Raises:
            BlockExhausted: the block has no serial left.
        """
        if not self.remaining:
            raise BlockExhausted(self.station, self.year)
        serial = self.issued_up_to + 1
        return replace(self, issued_up_to=serial), self.id_of(serial)


def usable(blocks: list[AccessionBlock], year: int) -> list[AccessionBlock]:
    """The blocks of ``year`` with serials left, oldest first (IDs follow the calendar)."""
    return sorted((b for b in blocks if b.year == year and b.remaining), key=lambda b: b.first)


def remaining(blocks: list[AccessionBlock], year: int) -> int:
    """Serials left for ``year`` across ``blocks``."""
    return sum(b.remaining for b in usable(blocks, year))


def needs_top_up(blocks: list[AccessionBlock], year: int, policy: BlockPolicy) -> bool:
    """Whether the station should reserve another block now."""
    return remaining(blocks, year) < max(policy.top_up_below, 1)


def format_range(block: AccessionBlock, first: int, last: int) -> str:
    """``2600001x..2600200y``: the first and last accession IDs of a serial range."""
    return f"{block.id_of(first)}..{block.id_of(last)}"
