"""Recording chain-of-custody events with their hash links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEvent, CustodyEventKind, next_status
from labdesk.domain.errors import NotFound
from labdesk.domain.hashchain import GENESIS, link_hash
from labdesk.domain.specimen import Specimen
from labdesk.ports import UnitOfWork


@dataclass(frozen=True)
class Handoff:
    """What a custody event records besides its kind."""

    actor_id: int
    location: str
    occurred_at: datetime | None = None
    temperature_class: TemperatureClass | None = None
    seal_intact: bool | None = None
    container_ref: str = ""
    reason: str = ""
    note: str = ""


def record_event(
    uow: UnitOfWork, clock: Clock, specimen: Specimen, kind: CustodyEventKind, handoff: Handoff
) -> CustodyEvent:
    """Append a custody event and move the specimen's status (caller commits).

    The specimen's own chain and the clinic-wide chain both link to their previous hash.

    Raises:
        CustodyError: if the transition is not allowed from the specimen's status.
    """
    if specimen.id is None:
        raise NotFound("The specimen has not been saved yet.")
    previous = uow.custody.last_for_specimen(specimen.id)
    current = specimen.status if previous is not None else None
    status = next_status(current, kind)
    uow.custody.lock_chain()
    chain_last = uow.custody.last()
    now = clock.now()
    event = CustodyEvent(
        specimen_id=specimen.id,
        seq=(previous.seq + 1) if previous else 1,
        kind=kind,
        actor_id=handoff.actor_id,
        occurred_at=handoff.occurred_at or now,
        recorded_at=now,
        location=handoff.location,
        temperature_class=handoff.temperature_class,
        seal_intact=handoff.seal_intact,
        container_ref=handoff.container_ref,
        reason=handoff.reason,
        note=handoff.note,
    )
    event.prev_hash = previous.hash if previous else GENESIS
    event.hash = link_hash(event.prev_hash, event.content())
    event.chain_prev_hash = chain_last.chain_hash if chain_last else GENESIS
    event.chain_hash = link_hash(event.chain_prev_hash, event.content())
    uow.custody.append(event)
    specimen.status = status
    specimen.status_changed_at = event.occurred_at
    uow.custody.flush()
    return event
