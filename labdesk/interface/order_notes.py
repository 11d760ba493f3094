"""Notes the lab must read with an outbound order: recollections and add-ons (NTE segments).

A recollection's message names the specimen it replaces and why ("Recollection of
2600000123 (haemolysed)"), so
the lab can link the new tube to the rejected or lost one; an add-on's message carries the
caller's note (``queue_collection_message(note=...)``: the test joins a specimen already
drawn, and who asked). Each note is an ``NTE`` segment right after
the ``OBR`` of every test drawn in that specimen (HL7 v2.5.1 OML^O21 and ORM^O01 both allow
NTE after OBR); NTE-2 ``L`` = the comment comes from the ordering side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from labdesk.domain.recollection import task_reason_label
from labdesk.domain.specimen import Specimen
from labdesk.hl7.ack import escape
from labdesk.hl7.outbound_build import CollectionSnapshot
from labdesk.ports import UnitOfWork

RECOLLECTION_PREFIX = "Recollection of"


def specimen_notes(uow: UnitOfWork, specimens: Sequence[Specimen]) -> dict[str, list[str]]:
    """Notes by accession for the specimens of one message (a recollection names its original)."""
    notes: dict[str, list[str]] = {}
    for specimen in specimens:
        if specimen.recollection_of_id is None:
            continue
        old = uow.specimens.get(specimen.recollection_of_id)
        original = old.accession if old is not None else str(specimen.recollection_of_id)
        task = uow.recollections.for_specimen(specimen.recollection_of_id)
        why = f" ({task_reason_label(task).lower()})" if task is not None else ""
        notes.setdefault(specimen.accession, []).append(f"{RECOLLECTION_PREFIX} {original}{why}")
    return notes


def with_notes(
    payload: str, snapshot: CollectionSnapshot, notes: Mapping[str, Sequence[str]]
) -> str:
    """``payload`` with an NTE after each OBR whose test is drawn in an accession of ``notes``."""
    if not any(notes.values()):
        return payload
    out: list[str] = []
    for segment in payload.split("\r"):
        out.append(segment)
        if not segment.startswith("OBR|"):
            continue
        number = int(segment.split("|")[1])
        accession = snapshot.tests[number - 1].specimen.accession
        for n, note in enumerate(notes.get(accession, ()), start=1):
            out.append(f"NTE|{n}|L|{escape(note)}")
    return "\r".join(out)
