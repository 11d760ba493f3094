"""One specimen's custody timeline, each event checked against both chains."""

from __future__ import annotations

from labdesk.custody import views
from labdesk.custody.dto import SpecimenTimeline, TimelineEntry
from labdesk.domain.custody import CustodyEvent
from labdesk.domain.errors import NotFound
from labdesk.domain.hashchain import GENESIS, link_hash
from labdesk.domain.permissions import Permission
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork


def specimen_timeline(
    uow: UnitOfWork,
    actor: SignedInUser,
    specimen_id: int | None = None,
    *,
    accession: str | None = None,
) -> SpecimenTimeline:
    """Every custody event of a specimen (by id or accession), oldest first, verified.

    Each event is checked for its own hashes, its link to the specimen's previous event, and
    its place in the clinic-wide chain (the events just before and after it by id). No
    patient data is returned: couriers may open it.

    Raises:
        NotFound: unknown specimen.
    """
    authorize(actor, Permission.VIEW_CUSTODY)
    specimen = (
        uow.specimens.get(specimen_id)
        if specimen_id is not None
        else uow.specimens.by_accession((accession or "").strip())
    )
    if specimen is None or specimen.id is None:
        raise NotFound(
            f"No specimen {accession or specimen_id}.", hint="Check the ID and try again."
        )
    entries = []
    previous_hash, expected_seq = GENESIS, 1
    for event, actor_name in uow.custody_scan.events_with_actors(specimen.id):
        problem = _problem(uow, event, previous_hash, expected_seq)
        assert event.id is not None
        entries.append(
            TimelineEntry(
                event_id=event.id,
                seq=event.seq,
                kind=event.kind,
                actor=actor_name,
                occurred_at=event.occurred_at,
                recorded_at=event.recorded_at,
                location=event.location,
                temperature_class=event.temperature_class,
                seal_intact=event.seal_intact,
                container_ref=event.container_ref,
                reason=event.reason,
                note=event.note,
                verified=not problem,
                problem=problem,
            )
        )
        previous_hash, expected_seq = event.hash, event.seq + 1
    return SpecimenTimeline(
        specimen_id=specimen.id,
        accession=specimen.accession,
        container_code=specimen.container_code,
        temperature_class=specimen.temperature_class,
        site_code=views.site_code(uow, specimen.site_id),
        status=specimen.status,
        collected_at=specimen.collected_at,
        entries=tuple(entries),
    )


def _problem(uow: UnitOfWork, event: CustodyEvent, previous_hash: str, expected_seq: int) -> str:
    """Why ``event`` does not verify ('' when it does)."""
    content = event.content()
    if link_hash(event.prev_hash, content) != event.hash or (
        link_hash(event.chain_prev_hash, content) != event.chain_hash
    ):
        return "Edited after it was recorded: its content no longer matches its hash."
    if event.seq != expected_seq:
        return f"Event(s) missing before it (expected step {expected_seq}, found {event.seq})."
    if event.prev_hash != previous_hash:
        return "Does not link to the previous event of this specimen."
    assert event.id is not None
    before, after = uow.custody_scan.chain_neighbours(event.id)
    if event.chain_prev_hash != (before or GENESIS):
        return "The clinic-wide chain breaks just before this event."
    if after is not None and after != event.chain_hash:
        return "The clinic-wide chain breaks just after this event."
    return ""
