"""Audit entries for applied HL7 messages: one per committed group, listing the message ids.

The interface writes these changes (station ``hl7``): on its own for the MLLP listener
(``user_id`` None), or for the signed-in user of ``labdesk hl7 import --user`` (``user_id``
that user's id, as on every other entry the import writes). One entry per transaction keeps
the chain lock (which serialises every audit writer) to once per group commit; the entry
still answers who (the HL7 interface, and who imported), what (the ``hl7_messages`` ids,
whose rows name the sender, the type, the raw text and the outcome) and when. Ids are
written as ranges (``120-219,221``); a group whose list does not fit one entry's detail
gets more entries, each under the same lock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.kernel.audit import DETAIL_MAX, record_audit
from labdesk.ports import UnitOfWork

ENTITY = "hl7_message"
STATION = "hl7"
_IDS_ROOM = DETAIL_MAX - 120
"""Characters of an entry's detail left for the id list after the summary."""


@dataclass(frozen=True)
class Applied:
    """One applied message, as its audit entry and its ACK describe it."""

    message_id: int
    message_type: str
    text: str
    results: int = 0
    unmatched: int = 0


def id_ranges(ids: Sequence[int]) -> list[str]:
    """Sorted ids as ranges: ``[1, 2, 3, 7]`` -> ``["1-3", "7"]``."""
    spans: list[str] = []
    ordered = sorted(set(ids))
    start = prev = ordered[0] if ordered else 0
    for value in ordered[1:]:
        if value != prev + 1:
            spans.append(f"{start}-{prev}" if prev != start else str(start))
            start = value
        prev = value
    if ordered:
        spans.append(f"{start}-{prev}" if prev != start else str(start))
    return spans


def _chunks(spans: list[str]) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    used = 0
    for span in spans:
        if chunks[-1] and used + len(span) + 1 > _IDS_ROOM:
            chunks.append([])
            used = 0
        chunks[-1].append(span)
        used += len(span) + 1
    return chunks


def audit_applied(
    uow: UnitOfWork, clock: Clock, applied: Sequence[Applied], *, user_id: int | None = None
) -> None:
    """Record that the interface applied ``applied`` (caller commits with the changes).

    Args:
        uow: the transaction that applied the messages.
        clock: time source.
        applied: the applied messages.
        user_id: who imported them (None: the interface on its own, the MLLP listener).
    """
    if not applied:
        return
    by_id = {a.message_id: a for a in applied}
    for chunk in _chunks(id_ranges(list(by_id))):
        members = [a for a in applied if _within(a.message_id, chunk)]
        types = Counter(a.message_type for a in members)
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(types.items()))
        results = sum(a.results for a in members)
        unmatched = sum(a.unmatched for a in members)
        detail = (
            f"applied {len(members)} message(s) ({kinds}): {results} result(s), "
            f"{unmatched} unmatched group(s); ids {','.join(chunk)}"
        )
        record_audit(
            uow,
            clock,
            action=AuditAction.CREATE,
            entity=ENTITY,
            entity_id=_span(members),
            user_id=user_id,
            station=STATION,
            detail=detail,
        )


def _span(members: Sequence[Applied]) -> str:
    """The entry's ``entity_id``: the message id, or the lowest and highest of a group."""
    low = min(a.message_id for a in members)
    high = max(a.message_id for a in members)
    return str(low) if low == high else f"{low}-{high}"


def _within(message_id: int, chunk: list[str]) -> bool:
    for span in chunk:
        low, _, high = span.partition("-")
        if int(low) <= message_id <= int(high or low):
            return True
    return False
