"""The audit log's chain check in the log's own words: the report and its problems.

The walk itself is :mod:`labdesk.domain.chain_verify` (shared with the custody chain); this
module hands it the log's rows and words its findings as the audit screens and the
``labdesk audit verify`` command show them. The outside facts are the clinic-wide count of
entries ever appended (``expected_count``, kept in a counter row by every append) and the
anchors: entries noted down earlier (``labdesk audit head``, and the heads LabDesk anchored
outside the database), which must still be there unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labdesk.domain.chain_verify import Cause, ChainedRow, Finding, walk_chain
from labdesk.domain.chain_verify import Kind as ProblemKind
from labdesk.domain.hashchain import GENESIS

__all__ = ["ChainProblem", "ChainReport", "ProblemKind", "verify_chain"]


@dataclass(frozen=True)
class ChainProblem:
    """One finding, naming the entry (for a deletion: the entry after the gap)."""

    kind: ProblemKind
    entry_id: int
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.detail}"


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a check."""

    checked: int
    problems: tuple[ChainProblem, ...]
    head_id: int | None = None
    head_hash: str = GENESIS
    guards: tuple[str, ...] = ()
    """Append-only triggers missing, disabled or defused (filled in by the service)."""
    anchored: bool = False
    """True when a head noted outside the database was checked."""

    @property
    def ok(self) -> bool:
        """True when no tampering was found and the append-only guards are in place."""
        return not self.problems and not self.guards

    def ids(self, kind: ProblemKind) -> list[int]:
        """Entry ids of one kind of problem."""
        return [p.entry_id for p in self.problems if p.kind is kind]


def verify_chain(
    rows: Iterable[ChainedRow],
    *,
    expected_count: int | None = None,
    anchor: tuple[int, str] | None = None,
    anchors: Iterable[tuple[int, str]] = (),
) -> ChainReport:
    """Walk the log's ``rows`` (oldest first) and report every modification, deletion, insertion.

    Args:
        rows: the stored entries with their canonical content, oldest first.
        expected_count: how many entries were ever appended (None: unknown).
        anchor: ``(id, hash)`` of an entry noted down earlier.
        anchors: more such pairs (the heads LabDesk anchored outside the database).
    """
    noted = [*anchors, *([anchor] if anchor is not None else [])]
    outcome = walk_chain(rows, appended=expected_count, anchors=noted)
    problems = [
        ChainProblem(f.kind, f.row_id or 0, _detail(f, outcome.appended)) for f in outcome.findings
    ]
    return ChainReport(
        checked=outcome.rows,
        problems=tuple(sorted(problems, key=lambda p: (p.entry_id, p.kind.value))),
        head_id=outcome.head_id,
        head_hash=outcome.head_hash,
    )


def _detail(f: Finding, appended: int | None) -> str:
    """The audit screens' wording of one finding."""
    entry = f"entry #{f.row_id}"
    match f.cause:
        case Cause.CONTENT:
            return f"{entry} was changed after it was written (its hash no longer matches)"
        case Cause.ANCHOR:
            return f"{entry} no longer has the hash noted in the anchor"
        case Cause.ANCHOR_GONE:
            return f"{entry} named by the anchor is gone"
        case Cause.REHASHED:
            return (
                f"{entry} was rewritten (hash recomputed): entry #{f.other} no longer links to it"
            )
        case Cause.GAP:
            after, start = f.row_id or 0, f.other or 0
            where = f"between entry #{start} and entry #{after}" if start else f"before #{after}"
            ids = f" (ids {start + 1}–{after - 1})" if after - start > 1 else ""
            return f"entries deleted {where}{ids}"
        case Cause.TAIL:
            left = (appended or 0) - f.count
            return (
                f"{f.count} entr{'y' if f.count == 1 else 'ies'} missing after entry "
                f"#{f.row_id or 0} ({appended} were written, {left} are left)"
            )
        case Cause.SURPLUS | Cause.SURPLUS_BROKEN if f.row_id is not None:
            return f"{entry} was not written by LabDesk (more entries than were appended)"
        case Cause.SURPLUS:
            return f"{f.count} more entries than were appended are stored"
        case Cause.LINKED_OVER | Cause.FORKED | Cause.UNLINKED:
            return f"{entry} is not part of the chain"
    return f"{entry}: {f.cause.value}"  # group causes: the audit log has no groups
