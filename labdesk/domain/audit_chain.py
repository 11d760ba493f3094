"""Checking the audit log's hash chain: which entries were modified, deleted or inserted.

Every entry stores the previous entry's hash and a hash over that and its own content, so:

* an entry whose content was edited no longer matches its own hash (**modified**);
* an entry whose predecessor was deleted points at a hash no longer in the log
  (**deleted**: the entries between the two ids are missing);
* a forged entry is skipped by the next genuine entry, which still links to the entry
  before the forgery (**inserted**).

A chain alone cannot catch an attacker who rewrites every later entry and recomputes
their hashes, and a broken link alone cannot tell "the entries between were deleted" from
"the entry before was rewritten with a recomputed hash". Two outside facts settle that:
the clinic-wide count of entries ever appended (``expected_count``, kept in a counter row
by every append) and, optionally, an **anchor**: the id and hash of an entry noted down
earlier (``labdesk audit head``), which must still be there unchanged, as Certificate
Transparency's signed tree heads anchor its log. Tampering is detected, not prevented; when a
forgery with a correctly computed hash sits just before the newest entry, the two claim the
same predecessor and the report may name the genuine one (the log is still reported
tampered).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from labdesk.domain.hashchain import GENESIS, link_hash

WINDOW = 10_000
"""How many recent entries an inserted run is looked for in (bounds memory on huge logs)."""


class Chained(Protocol):
    """What the check needs of an entry."""

    @property
    def id(self) -> int | None:
        """Row id (insertion order)."""
        ...

    @property
    def prev_hash(self) -> str:
        """Hash of the entry before it when it was written."""
        ...

    @property
    def hash(self) -> str:
        """Hash over ``prev_hash`` and the content."""
        ...

    def content(self) -> dict[str, object]:
        """The hashed fields."""
        ...


class ProblemKind(StrEnum):
    """What happened to the log."""

    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"


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


@dataclass
class _Row:
    id: int
    prev_hash: str
    hash: str
    intact: bool  # its stored hash matches its stored prev_hash and content


@dataclass
class _Walk:
    """State of the walk: the chain's tip and the rows after it that link to nothing yet."""

    tip: _Row | None = None
    unlinked: list[_Row] = field(default_factory=list)
    # Hashes of recent chain entries -> id; the genesis value stands for "before the first".
    recent: OrderedDict[str, int] = field(default_factory=lambda: OrderedDict({GENESIS: 0}))
    problems: list[ChainProblem] = field(default_factory=list)
    gaps: list[tuple[_Row | None, _Row]] = field(default_factory=list)

    def remember(self, row: _Row) -> None:
        self.recent[row.hash] = row.id
        if len(self.recent) > WINDOW:
            self.recent.popitem(last=False)

    def inserted(self, rows: Iterable[_Row]) -> None:
        for row in rows:
            self.problems.append(
                ChainProblem(
                    ProblemKind.INSERTED, row.id, f"entry #{row.id} is not part of the chain"
                )
            )

    def link(self, row: _Row) -> None:
        """``row`` links to the tip: whatever came between was inserted."""
        self.inserted(self.unlinked)
        self.unlinked = []
        self._accept(row)

    def link_to_unlinked(self, index: int, row: _Row) -> None:
        """``row`` links to an unlinked row: that one joined the chain after a gap."""
        joined = self.unlinked[index]
        self.inserted(self.unlinked[:index])
        self.inserted(self.unlinked[index + 1 :])
        self.unlinked = []
        self._join_after_gap(joined)
        self._accept(row)

    def _join_after_gap(self, row: _Row) -> None:
        fork = self.recent.get(row.prev_hash)
        if fork is not None:
            # ``row`` continues the chain from an earlier entry: the entries after that one
            # (which the walk had taken as the chain) were slipped in.
            self._retract_after(fork)
        elif row.intact:
            self.gaps.append((self.tip, row))
        if not row.intact:
            self._modified(row)
        self.tip = row
        self.remember(row)

    def _retract_after(self, fork_id: int) -> None:
        slipped = [(h, i) for h, i in self.recent.items() if i > fork_id]
        ids = {i for _, i in slipped}
        for h, _ in slipped:
            del self.recent[h]
        self.problems = [
            p for p in self.problems if not (p.kind is ProblemKind.MODIFIED and p.entry_id in ids)
        ]
        self.gaps = [g for g in self.gaps if g[1].id not in ids]
        self.inserted(_Row(i, "", "", False) for i in sorted(ids))

    def _accept(self, row: _Row) -> None:
        if not row.intact:
            self._modified(row)
        self.tip = row
        self.remember(row)

    def _modified(self, row: _Row) -> None:
        self.problems.append(
            ChainProblem(
                ProblemKind.MODIFIED,
                row.id,
                f"entry #{row.id} was changed after it was written (its hash no longer matches)",
            )
        )

    def finish(self, extra_rows: int) -> None:
        """Settle rows still unlinked at the end of the log."""
        rest, self.unlinked = self.unlinked, []
        for row in rest:
            # A genuine last entry links to the newest one; one that forks off an older
            # entry was slipped in.
            fork = self.recent.get(row.prev_hash)
            if fork is not None:
                # Two entries claim the same predecessor: keep the one whose hash holds.
                rival_broken = any(
                    p.kind is ProblemKind.MODIFIED and p.entry_id > fork for p in self.problems
                )
                if row.intact and rival_broken:
                    self._join_after_gap(row)
                else:
                    self.inserted([row])
            elif extra_rows > 0 and not row.intact:
                self.inserted([row])
                extra_rows -= 1
            else:
                self._join_after_gap(row)


def _row(entry: Chained) -> _Row:
    assert entry.id is not None
    intact = link_hash(entry.prev_hash, entry.content()) == entry.hash
    return _Row(entry.id, entry.prev_hash, entry.hash, intact)


def verify_chain(
    entries: Iterable[Chained],
    *,
    expected_count: int | None = None,
    anchor: tuple[int, str] | None = None,
    anchors: Iterable[tuple[int, str]] = (),
) -> ChainReport:
    """Walk ``entries`` in id order and report every modification, deletion and insertion.

    Args:
        entries: the log, oldest first.
        expected_count: how many entries were ever appended (None: unknown).
        anchor: ``(id, hash)`` of an entry noted down earlier.
        anchors: more such pairs (the heads LabDesk anchored outside the database).
    """
    walk = _Walk()
    tail: deque[int] = deque(maxlen=WINDOW)
    checked = 0
    pending: dict[int, set[str]] = {}
    for noted_id, noted_hash in [*anchors, *([anchor] if anchor is not None else [])]:
        pending.setdefault(noted_id, set()).add(noted_hash)
    for entry in entries:
        row = _row(entry)
        checked += 1
        tail.append(row.id)
        noted = pending.pop(row.id, None)
        if noted is not None and noted != {row.hash}:
            walk.problems.append(
                ChainProblem(
                    ProblemKind.MODIFIED,
                    row.id,
                    f"entry #{row.id} no longer has the hash noted in the anchor",
                )
            )
        tip_hash = walk.tip.hash if walk.tip is not None else GENESIS
        if row.prev_hash == tip_hash:
            walk.link(row)
            continue
        index = next((i for i, u in enumerate(walk.unlinked) if u.hash == row.prev_hash), None)
        if index is not None:
            walk.link_to_unlinked(index, row)
        else:
            walk.unlinked.append(row)
    extra = checked - expected_count if expected_count is not None else 0
    walk.finish(extra)
    if extra > 0:
        _settle_extra_rows(walk, list(tail)[-extra:])
    slipped_in = sum(1 for p in walk.problems if p.kind is ProblemKind.INSERTED)
    missing = (expected_count - (checked - slipped_in)) if expected_count is not None else None
    for before, after in walk.gaps:
        walk.problems.append(_gap_problem(before, after, missing))
    for gone in sorted(pending):
        walk.problems.append(
            ChainProblem(ProblemKind.DELETED, gone, f"entry #{gone} named by the anchor is gone")
        )
    if missing is not None and missing > 0 and not walk.gaps:
        last = walk.tip.id if walk.tip is not None else 0
        walk.problems.append(
            ChainProblem(
                ProblemKind.DELETED,
                last,
                f"{missing} entr{'y' if missing == 1 else 'ies'} missing after entry #{last} "
                f"({expected_count} were written, {checked - slipped_in} are left)",
            )
        )
    tip = walk.tip
    return ChainReport(
        checked=checked,
        problems=tuple(sorted(walk.problems, key=lambda p: (p.entry_id, p.kind.value))),
        head_id=tip.id if tip is not None else None,
        head_hash=tip.hash if tip is not None else GENESIS,
    )


def _settle_extra_rows(walk: _Walk, last_ids: list[int]) -> None:
    """More rows than were ever appended: the newest ones not yet explained were inserted.

    A forged row appended at the end that copies the tip's hash as its ``prev_hash`` (and
    even computes its own hash correctly) links like a genuine one; only the count shows it.
    """
    explained = sum(1 for p in walk.problems if p.kind is ProblemKind.INSERTED)
    unexplained = len(last_ids) - explained
    if unexplained <= 0:
        return
    flagged = {p.entry_id for p in walk.problems if p.kind is ProblemKind.INSERTED}
    candidates = [i for i in reversed(last_ids) if i not in flagged][:unexplained]
    walk.problems = [
        p
        for p in walk.problems
        if not (p.kind is ProblemKind.MODIFIED and p.entry_id in candidates)
    ]
    for entry_id in candidates:
        walk.problems.append(
            ChainProblem(
                ProblemKind.INSERTED,
                entry_id,
                f"entry #{entry_id} was not written by LabDesk (more entries than were appended)",
            )
        )


def _gap_problem(before: _Row | None, after: _Row, missing: int | None) -> ChainProblem:
    start = before.id if before is not None else 0
    where = f"between entry #{start} and entry #{after.id}" if start else f"before #{after.id}"
    if missing is not None and missing <= 0 and before is not None:
        return ChainProblem(
            ProblemKind.MODIFIED,
            before.id,
            f"entry #{before.id} was rewritten (hash recomputed): entry #{after.id} no longer "
            "links to it",
        )
    ids = f" (ids {start + 1}–{after.id - 1})" if after.id - start > 1 else ""
    return ChainProblem(ProblemKind.DELETED, after.id, f"entries deleted {where}{ids}")
