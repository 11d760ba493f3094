"""One streaming verifier for LabDesk's hash chains: which rows were modified, deleted, inserted.

Both chains are checked here: the custody events (a clinic-wide chain over every event plus
one chain per specimen, a *group*, linked by ``seq``) and the audit log (one chain). The
adapters stream the stored rows in id order with each row's canonical content; the feature
hashes that content against the row's stored hashes (``intact``) and feeds the links to a
:class:`ChainWalk`. The findings are neutral (:class:`Finding`: a cause and the ids); each
feature words them for its users.

What is found, and how:

* **modified**: a row whose content no longer matches its hash (``CONTENT``); a row that no
  longer has the hash anchored outside the database (``ANCHOR``); a row rewritten with a
  recomputed hash (``REHASHED``: the next row no longer links to it, and no row can be
  missing between them, because their ids are adjacent or the writer's count says none is).
* **deleted**: a break in the links that nothing else explains (``GAP``); fewer rows than
  the writer appended and no gap to show for it (``TAIL``: cut from the end); an anchored
  row that is gone (``ANCHOR_GONE``); a group chain skipping ``seq`` numbers.
* **inserted**: rows the chain links over (``LINKED_OVER``: a later row links to the chain
  as it stood before them, looked for among the last ``WINDOW`` rows); a row that links
  back over others and that nothing follows (``FORKED``: when the row is the newest, the
  two claim the same predecessor, and the one whose hash holds, or that an anchor vouches
  for, is kept); a run of rows after a break none of whose hashes holds (``UNLINKED``); the
  newest rows beyond the writer's count that nothing else explains (``SURPLUS``); a group
  row out of ``seq`` order.

The writer's count of rows ever appended (``appended``) and the anchors (``id -> hash`` of
heads noted down outside the database) are the outside facts: a chain alone cannot tell a
cut-off tail from an intact shorter log, nor catch a forger who recomputes every later
hash. Tampering is detected, not prevented.

Memory is bounded: the last ``WINDOW`` rows, one entry per group (its last seq and hash) and
the findings. An intact chain costs a few comparisons per row; the index of recent hashes
that resolves broken links is built only at the first broken link.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from typing import Final, NamedTuple

from labdesk.domain.hashchain import GENESIS

WINDOW = 10_000
"""How many recent rows a broken link is traced back in (and a break's run judged over)."""

GroupedRow = tuple[int, int, int, str, str, str, str, str]
"""A row on a main chain and a group chain sharing one content, as an adapter streams it:
(id, group, seq, canonical content, group prev hash, group hash, prev hash, hash)."""


class ChainedRow(NamedTuple):
    """A row of a single chain as an adapter streams it: its links and canonical content."""

    id: int
    prev_hash: str
    hash: str
    content: str
    """Canonical JSON of the hashed fields (``labdesk.domain.hashchain.canonical``)."""


def chained_hash(previous: str, content: str) -> str:
    """The writer's hash of canonical ``content`` linked to ``previous`` (as ``link_hash``)."""
    return hashlib.sha256(previous.encode("ascii") + content.encode("utf-8")).hexdigest()


class Kind(StrEnum):
    """What happened to the chain."""

    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"


class Cause(StrEnum):
    """Why a finding was made (the module docstring explains each)."""

    CONTENT = "content"
    ANCHOR = "anchor"
    REHASHED = "rehashed"
    GAP = "gap"
    TAIL = "tail"
    ANCHOR_GONE = "anchor_gone"
    LINKED_OVER = "linked_over"
    FORKED = "forked"
    UNLINKED = "unlinked"
    SURPLUS = "surplus"
    """Beyond the writer's count; the row's hash holds (``row_id`` None: rows past the window)."""
    SURPLUS_BROKEN = "surplus_broken"
    """Beyond the writer's count, and its hash does not hold either."""
    GROUP_GAP = "group_gap"
    GROUP_ORDER = "group_order"
    GROUP_LINK = "group_link"


KIND_OF: dict[Cause, Kind] = {
    Cause.CONTENT: Kind.MODIFIED,
    Cause.ANCHOR: Kind.MODIFIED,
    Cause.REHASHED: Kind.MODIFIED,
    Cause.GAP: Kind.DELETED,
    Cause.TAIL: Kind.DELETED,
    Cause.ANCHOR_GONE: Kind.DELETED,
    Cause.LINKED_OVER: Kind.INSERTED,
    Cause.FORKED: Kind.INSERTED,
    Cause.UNLINKED: Kind.INSERTED,
    Cause.SURPLUS: Kind.INSERTED,
    Cause.SURPLUS_BROKEN: Kind.INSERTED,
    Cause.GROUP_GAP: Kind.DELETED,
    Cause.GROUP_ORDER: Kind.INSERTED,
    Cause.GROUP_LINK: Kind.MODIFIED,
}
GROUP_CAUSES = frozenset({Cause.GROUP_GAP, Cause.GROUP_ORDER, Cause.GROUP_LINK})
_OFF_CHAIN = frozenset(
    {Cause.LINKED_OVER, Cause.FORKED, Cause.UNLINKED, Cause.SURPLUS, Cause.SURPLUS_BROKEN}
)
"""Causes that take a row out of the main chain (it counts as not appended by the writer)."""
_ROW_MODIFIED = frozenset({Cause.CONTENT, Cause.ANCHOR})


@dataclass(frozen=True, slots=True)
class Finding:
    """One neutral finding about the stored rows."""

    cause: Cause
    row_id: int | None
    """The row concerned; for a gap the row after it; None for a count of rows past the window."""
    group: int | None = None
    seq: int | None = None
    other: int | None = None
    """GAP: the row before it (None: at the start). REHASHED: the row no longer linking to
    it. GROUP_LINK: the group's previous row (0: none)."""
    count: int = 0
    """TAIL: rows missing. SURPLUS without a row: rows past the window. GROUP_GAP and
    GROUP_ORDER: the group's last seq before this row."""

    @property
    def kind(self) -> Kind:
        """Modified, deleted or inserted."""
        return KIND_OF[self.cause]

    @property
    def in_group(self) -> bool:
        """True for a finding about a group chain (a specimen's), not the main chain."""
        return self.cause in GROUP_CAUSES


@dataclass(frozen=True)
class ChainOutcome:
    """What a walk found, with the facts the features put into their messages."""

    rows: int
    findings: tuple[Finding, ...]
    groups: int
    appended: int | None
    head_id: int | None
    """The newest row that is part of the chain (None: none)."""
    head_hash: str


GroupState = tuple[int, str, int]
"""A group's last (seq, hash, row id)."""


class _Seen(NamedTuple):
    """A row taken into the chain, kept for the last ``WINDOW`` rows so it can be re-judged.

    The window stores plain tuples of these fields (:data:`_Entry`) and the rare paths read
    them through this view: the collector untracks plain tuples of plain values, but never a
    tuple subclass, and ten thousand tracked objects alive at a time made every collection
    walk them (a fifth of a million-row check).
    """

    id: int
    hash: str
    before: str
    """The main chain's hash just before this row (what it had to link to)."""
    intact: bool
    group: int | None
    seq: int
    group_before: GroupState | None


_Entry = tuple[int, str, str, bool, int | None, int, GroupState | None]
"""A window entry: the fields of :class:`_Seen`, as a plain tuple."""
_BEFORE: Final = 2
_ID: Final = 0


def _view(entry: _Entry) -> _Seen:
    """Read a window entry by field name."""
    return _Seen._make(entry)


class _Held(NamedTuple):
    """A row linking back over ``window[back:]``: judged when the next row shows which is kept."""

    id: int
    prev: str
    hash: str
    intact: bool
    group: int | None
    seq: int
    group_prev: str
    group_hash: str
    vouched: bool
    back: int


@dataclass
class _Break:
    """A main-chain link that matched nothing: judged once more rows are seen."""

    before_id: int | None
    break_id: int
    number: int
    """Position of the breaking row in the walk (1 = first row taken)."""
    suspects: list[_Entry] = field(default_factory=list)


class ChainWalk:
    """Feed rows in id order with :meth:`feed`; :meth:`finish` returns the outcome."""

    def __init__(self, anchors: Iterable[tuple[int, str]] = (), window: int = WINDOW) -> None:
        self.rows = 0
        self._anchors: dict[int, set[str]] = {}
        for noted_id, noted_hash in anchors:
            self._anchors.setdefault(noted_id, set()).add(noted_hash)
        self._limit = window
        self._window: deque[_Entry] = deque(maxlen=window)
        self._taken = 0
        """Rows taken into the window so far (the position of ``window[-1]``)."""
        self._expected = GENESIS
        self._groups: dict[int, GroupState] = {}
        self._found: dict[int | None, list[Finding]] = {}
        self._pending: _Break | None = None
        self._held: _Held | None = None
        self._gaps: list[tuple[int | None, int, int]] = []
        self._positions: dict[str, int] | None = None
        """``before`` hash -> position of the newest window row with it (after a first break)."""

    def feed(
        self,
        row_id: int,
        prev: str,
        own: str,
        intact: bool,
        group: int | None = None,
        seq: int = 0,
        group_prev: str = "",
        group_hash: str = "",
    ) -> None:
        """Check one row: its main-chain links, whether its content matches, its group links.

        Args:
            row_id: the row's id (rows come in id order).
            prev: the main-chain hash it stores for its predecessor.
            own: its stored main-chain hash.
            intact: True when its content matches every hash it stores.
            group: its group (a specimen), None on a chain without groups.
            seq: its position in the group (1 = first).
            group_prev: the group-chain hash it stores for its predecessor in the group.
            group_hash: its stored group-chain hash.
        """
        self.rows += 1
        vouched = False
        if self._anchors:
            noted = self._anchors.pop(row_id, None)
            if noted is not None:
                vouched = noted == {own}
                if not vouched:
                    self._add(Finding(Cause.ANCHOR, row_id, group, seq))
        if self._held is not None:
            self._release(prev)
        before = self._expected
        if prev != before:
            back = self._linked_back(prev)
            if back is not None:
                self._held = _Held(
                    row_id, prev, own, intact, group, seq, group_prev, group_hash, vouched, back
                )
                return
            self._break(row_id)
        state: GroupState | None = None
        if group is not None:
            state = self._groups.get(group)
            if state is None:
                linked = seq == 1 and group_prev == GENESIS
            else:
                linked = seq == state[0] + 1 and group_prev == state[1]
            if not linked:
                self._group_break(row_id, group, seq, state)
            self._groups[group] = (seq, group_hash, row_id)
        if not intact:
            self._add(Finding(Cause.CONTENT, row_id, group, seq))
        seen: _Entry = (row_id, own, before, intact, group, seq, state)
        pending = self._pending
        if pending is not None:
            pending.suspects.append(seen)
            if len(pending.suspects) > self._limit:
                self._pending = None
                self._settle(pending)
        window = self._window
        positions = self._positions
        if positions is not None:
            if len(window) == self._limit:
                evicted = window[0]
                if positions.get(evicted[_BEFORE]) == self._taken - self._limit + 1:
                    del positions[evicted[_BEFORE]]
            positions[before] = self._taken + 1
        window.append(seen)
        self._taken += 1
        self._expected = own

    def _group_break(self, row_id: int, group: int, seq: int, state: GroupState | None) -> None:
        last_seq, _, last_id = state if state is not None else (0, GENESIS, 0)
        if seq > last_seq + 1:
            self._add(Finding(Cause.GROUP_GAP, row_id, group, seq, count=last_seq))
        elif seq <= last_seq:
            self._add(Finding(Cause.GROUP_ORDER, row_id, group, seq, count=last_seq))
        else:
            self._add(Finding(Cause.GROUP_LINK, row_id, group, seq, other=last_id))

    def _linked_back(self, prev: str) -> int | None:
        """Window index of the newest row that ``prev`` links in front of (None: none)."""
        positions = self._positions
        if positions is None:
            first = self._taken - len(self._window) + 1
            positions = {seen[_BEFORE]: first + i for i, seen in enumerate(self._window)}
            self._positions = positions
        position = positions.get(prev)
        if position is None:
            return None
        index = len(self._window) - 1 - (self._taken - position)
        return index if index >= 0 else None

    def _break(self, row_id: int) -> None:
        """A link matching no recent row: rows were deleted or the previous one re-hashed."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._settle(pending)
        before_id = self._window[-1][_ID] if self._window else None
        self._pending = _Break(before_id, row_id, self._taken + 1)

    def _release(self, next_prev: str | None) -> None:
        """Judge the held row: kept when the next row links to it (or, when it is the last,
        when its hash holds and one of the rows it links over does not, or an anchor
        vouches for it); the rows it links over were inserted. Otherwise it was."""
        held = self._held
        assert held is not None
        self._held = None
        over = [_view(entry) for entry in islice(self._window, held.back, None)]
        if next_prev == held.hash or held.vouched:
            kept = True
        else:
            kept = held.intact and any(not seen.intact for seen in over)
        if not kept:
            self._found.pop(held.id, None)
            self._add(Finding(Cause.FORKED, held.id, held.group))
            return
        self._insert(over, Cause.LINKED_OVER, self._taken - len(over) + 1)
        # With those rows out, the chain's tip is what the held row links to: feed it again
        # as if it came now (counted once; its anchor was checked when it came).
        self._expected = held.prev
        self.rows -= 1
        self.feed(
            held.id,
            held.prev,
            held.hash,
            held.intact,
            held.group,
            held.seq,
            held.group_prev,
            held.group_hash,
        )

    def _insert(self, rows: Sequence[_Seen], cause: Cause, first: int) -> None:
        """``rows`` (the walk's rows from position ``first`` on) are not part of the chain."""
        for seen in reversed(rows):
            if seen.group is not None:
                if seen.group_before is None:
                    self._groups.pop(seen.group, None)
                else:
                    self._groups[seen.group] = seen.group_before
            self._found.pop(seen.id, None)
            self._add(Finding(cause, seen.id, seen.group))
        while self._gaps and self._gaps[-1][2] >= first:
            self._gaps.pop()
        pending = self._pending
        if pending is not None:
            if pending.number >= first:
                self._pending = None
            else:
                keep = len(pending.suspects) - len(rows)
                pending.suspects = pending.suspects[: max(keep, 0)]

    def _settle(self, brk: _Break, *, surplus: bool = True) -> None:
        """Judge a break: a run of rows none of whose hashes holds was inserted (at the end
        only when ``surplus``: there are more rows than appended); otherwise it is a gap,
        named at the end (deleted rows, or the row before it re-hashed)."""
        suspects = brk.suspects
        if suspects and surplus and not any(_view(s).intact for s in suspects):
            self._insert([_view(s) for s in suspects], Cause.UNLINKED, brk.number)
            return
        self._gaps.append((brk.before_id, brk.break_id, brk.number))

    def _add(self, finding: Finding) -> None:
        """Record ``finding`` unless the row already has one of that cause."""
        listed = self._found.setdefault(finding.row_id, [])
        if all(f.cause is not finding.cause for f in listed):
            listed.append(finding)

    def _off_chain(self) -> set[int]:
        return {
            f.row_id
            for listed in self._found.values()
            for f in listed
            if f.cause in _OFF_CHAIN and f.row_id is not None
        }

    def finish(self, appended: int | None = None) -> ChainOutcome:
        """Settle what is pending and hold the rows against the writer's count.

        Args:
            appended: how many rows the writer ever appended (None: unknown).
        """
        if self._held is not None:
            self._release(None)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._settle(pending, surplus=appended is None or self.rows > appended)
        for gone in sorted(self._anchors):
            self._add(Finding(Cause.ANCHOR_GONE, gone))
        self._anchors = {}
        if appended is not None and self.rows > appended:
            self._surplus(self.rows - appended - len(self._off_chain()))
        off_chain = self._off_chain()
        missing = None if appended is None else appended - (self.rows - len(off_chain))
        named_gap = False
        for before_id, break_id, _ in self._gaps:
            rehashed = before_id is not None and (
                break_id == before_id + 1 or (missing is not None and missing <= 0)
            )
            if rehashed:
                self._add(Finding(Cause.REHASHED, before_id, other=break_id))
            else:
                named_gap = True
                self._add(Finding(Cause.GAP, break_id, other=before_id))
        window = map(_view, reversed(self._window))
        head = next((s for s in window if s.id not in off_chain), None)
        head_id = head.id if head is not None else None
        if missing is not None and missing > 0 and not named_gap:
            self._add(Finding(Cause.TAIL, head_id, count=missing))
        return ChainOutcome(
            rows=self.rows,
            findings=tuple(f for listed in self._found.values() for f in listed),
            groups=len(self._groups),
            appended=appended,
            head_id=head_id,
            head_hash=head.hash if head is not None else GENESIS,
        )

    def _surplus(self, unexplained: int) -> None:
        """More rows than the writer appended: the newest rows not yet explained were added.

        A row forged after the last one, copying its hash as the link and computing its own
        hash correctly, links like a genuine row; only the count shows it.
        """
        if unexplained <= 0:
            return
        off_chain = self._off_chain()
        newest: list[_Seen] = []
        for seen in map(_view, reversed(self._window)):
            if len(newest) == unexplained:
                break
            if seen.id not in off_chain:
                newest.append(seen)
        for seen in newest:
            listed = self._found.get(seen.id, [])
            broken = [f for f in listed if f.cause in _ROW_MODIFIED]
            for finding in broken:
                listed.remove(finding)
            cause = Cause.SURPLUS_BROKEN if broken else Cause.SURPLUS
            self._add(Finding(cause, seen.id, seen.group, seen.seq))
        if unexplained > len(newest):
            self._add(Finding(Cause.SURPLUS, None, count=unexplained - len(newest)))


def walk_chain(
    rows: Iterable[ChainedRow],
    *,
    appended: int | None = None,
    anchors: Iterable[tuple[int, str]] = (),
) -> ChainOutcome:
    """Verify a single chain (no groups) whose rows carry their canonical content."""
    walk = ChainWalk(anchors)
    for row in rows:
        intact = chained_hash(row.prev_hash, row.content) == row.hash
        walk.feed(row.id, row.prev_hash, row.hash, intact)
    return walk.finish(appended)
