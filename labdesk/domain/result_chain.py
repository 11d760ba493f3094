"""Which results of an ordered test are current, given corrections and retractions.

Results are never updated or deleted. A later result for the same observation carries
``supersedes_id`` pointing at the row it replaces (preliminary -> final, final -> corrected).
A wrong-patient retraction (HL7 OBX-11 ``W``) is a row with status ``W`` that supersedes the
retracted row; it is itself never a current value. So the current results are the rows no
other row supersedes, minus the retractions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from labdesk.domain.result import Result, ResultStatus


def current_results(results: Iterable[Result]) -> list[Result]:
    """The results that stand (not superseded, not retractions), oldest first."""
    rows = sorted(results, key=lambda r: r.id or 0)
    replaced = {r.supersedes_id for r in rows if r.supersedes_id is not None}
    return [r for r in rows if r.id not in replaced and r.status is not ResultStatus.WRONG]


def history_of(results: Sequence[Result], result_id: int) -> list[Result]:
    """The chain ending at ``result_id``, oldest first (for a correction history view)."""
    by_id = {r.id: r for r in results}
    chain: list[Result] = []
    current = by_id.get(result_id)
    while current is not None and len(chain) <= len(results):
        chain.append(current)
        current = by_id.get(current.supersedes_id) if current.supersedes_id else None
    return list(reversed(chain))
