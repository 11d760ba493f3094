"""Work a station does while offline, inside the caller's local unit of work."""

from __future__ import annotations

from typing import Any

from labdesk.domain.clock import Clock
from labdesk.downtime.blocks import usable
from labdesk.downtime.errors import BlockExhausted
from labdesk.downtime.outbox import new_entry
from labdesk.downtime.ports import LocalUnitOfWork
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import Command


def queue_command(
    uow: LocalUnitOfWork, command: Command[Any], actor: SignedInUser | None, clock: Clock
) -> int:
    """Add ``command`` to the outbox in ``uow``'s transaction; returns its ``seq``.

    The caller does the action's local effect in the same ``uow`` and commits once, so the
    effect and the entry are kept together or not at all.

    Raises:
        CommandNotPortable: the command holds something the outbox cannot keep.
    """
    return uow.outbox.append(new_entry(command, actor, clock))


def issue_offline_accession(uow: LocalUnitOfWork, station: str, clock: Clock) -> str:
    """Take the next accession ID from the station's blocks, in ``uow``'s transaction.

    Raises:
        BlockExhausted: no block of this year has a serial left.
    """
    year = clock.now().year
    blocks = usable(uow.blocks.all(), year)
    if not blocks:
        raise BlockExhausted(station, year)
    block, accession = blocks[0].take()
    uow.blocks.put(block)
    return accession
