"""What the lab must read with a timed draw: its time point, window and any reason (NTE).

A series step (OGTT 1H, a trough) is judged by when it was drawn, so the collection
message says which time point the tube is, when it was due, and - for a draw outside its
window - how far outside and the reason the MA gave. The notes join the other notes of
:mod:`labdesk.interface.order_notes` (an NTE after the OBR of each test in the specimen).
"""

from __future__ import annotations

from collections.abc import Sequence

from labdesk.domain.specimen import Specimen
from labdesk.domain.timefmt import format_local
from labdesk.ports import UnitOfWork

TIMED_PREFIX = "Timed draw"


def timed_draw_notes(uow: UnitOfWork, specimens: Sequence[Specimen]) -> dict[str, list[str]]:
    """Notes by accession for the timed draws among ``specimens``."""
    by_id = {s.id: s for s in specimens if s.id is not None}
    notes: dict[str, list[str]] = {}
    for draw in uow.timed_draws.for_specimens(by_id):
        assert draw.specimen_id is not None
        specimen = by_id[draw.specimen_id]
        site = uow.people.site(specimen.site_id)
        zone = site.timezone if site is not None else "UTC"
        w = draw.window
        text = (
            f"{TIMED_PREFIX} {draw.time_point}: due {format_local(w.due_at, zone)}, "
            f"window {format_local(w.opens_at, zone)[-5:]}-{format_local(w.closes_at, zone)[-5:]}"
        )
        if draw.out_of_window:
            reason = draw.timing_reason or "none given"
            text += f"; drawn outside the window ({draw.deviation}); reason: {reason}"
        notes.setdefault(specimen.accession, []).append(text)
    return notes
