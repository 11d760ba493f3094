"""The shared chain walk on in-memory rows: main chain, group chains, count and anchors.

Each case names the cause the walk gives, including the cases one of the two former
verifiers (custody's and the audit log's) missed or named wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from labdesk.domain.chain_verify import (
    Cause,
    ChainedRow,
    ChainOutcome,
    ChainWalk,
    Kind,
    chained_hash,
    walk_chain,
)
from labdesk.domain.hashchain import GENESIS


@dataclass(frozen=True)
class Row:
    """A row on a main chain and (with ``group``) a group chain, as custody stores it."""

    id: int
    content: str
    prev: str
    hash: str
    group: int | None = None
    seq: int = 0
    group_prev: str = ""
    group_hash: str = ""

    @property
    def intact(self) -> bool:
        main = chained_hash(self.prev, self.content) == self.hash
        grouped = self.group is None or chained_hash(self.group_prev, self.content) == (
            self.group_hash
        )
        return main and grouped


def build(n: int, groups: int = 0, step: int = 1) -> list[Row]:
    """``n`` chained rows; with ``groups``, row ``i`` belongs to group ``i % groups``."""
    rows: list[Row] = []
    chain = GENESIS
    last: dict[int, tuple[int, str]] = {}
    for i in range(1, n + 1):
        content = f'{{"n":{i}}}'
        own = chained_hash(chain, content)
        row = Row(i * step, content, chain, own)
        if groups:
            group = i % groups
            seq, prev = last.get(group, (0, GENESIS))
            group_hash = chained_hash(prev, content)
            row = replace(row, group=group, seq=seq + 1, group_prev=prev, group_hash=group_hash)
            last[group] = (seq + 1, group_hash)
        rows.append(row)
        chain = own
    return rows


def forged(id_: int, prev: str, *, valid: bool, content: str = '{"forged":1}') -> Row:
    return Row(id_, content, prev, chained_hash(prev, content) if valid else "f" * 64)


def walk(
    rows: list[Row],
    appended: int | None = None,
    anchors: tuple[tuple[int, str], ...] = (),
    window: int = 10_000,
) -> ChainOutcome:
    chain = ChainWalk(anchors, window=window)
    for r in rows:
        chain.feed(r.id, r.prev, r.hash, r.intact, r.group, r.seq, r.group_prev, r.group_hash)
    return chain.finish(appended)


def causes(outcome: ChainOutcome) -> list[tuple[Cause, int | None]]:
    return sorted(
        ((f.cause, f.row_id) for f in outcome.findings), key=lambda c: (c[1] or 0, c[0].value)
    )


def test_intact_grouped_chain() -> None:
    rows = build(12, groups=3)
    outcome = walk(rows, appended=12)
    assert outcome.findings == ()
    assert (outcome.rows, outcome.groups, outcome.head_id) == (12, 3, 12)
    assert outcome.head_hash == rows[-1].hash


def test_edited_row_is_content() -> None:
    rows = build(6, groups=2)
    rows[2] = replace(rows[2], content='{"n":"x"}')
    outcome = walk(rows, appended=6)
    assert causes(outcome) == [(Cause.CONTENT, 3)]
    assert outcome.findings[0].kind is Kind.MODIFIED
    assert (outcome.findings[0].group, outcome.findings[0].seq) == (1, 2)


def test_deleted_row_is_a_gap_on_both_chains() -> None:
    rows = build(9, groups=3)
    del rows[4]  # id 5: group 2, seq 2
    outcome = walk(rows, appended=9)
    assert causes(outcome) == [(Cause.GAP, 6), (Cause.GROUP_GAP, 8)]
    gap = next(f for f in outcome.findings if f.cause is Cause.GAP)
    assert gap.other == 4
    group_gap = next(f for f in outcome.findings if f.in_group)
    assert (group_gap.seq, group_gap.count) == (3, 1)  # seq 2 is missing


def test_rehashed_row_next_to_its_successor() -> None:
    rows = build(5)
    content = '{"n":"rewritten"}'
    rows[1] = replace(rows[1], content=content, hash=chained_hash(rows[1].prev, content))
    # Without the count the adjacent ids alone show nothing can be missing between 2 and 3.
    outcome = walk(rows)
    assert causes(outcome) == [(Cause.REHASHED, 2)]
    assert outcome.findings[0].other == 3


def test_rehashed_row_with_ids_apart_needs_the_count() -> None:
    rows = build(5, step=10)
    content = '{"n":"rewritten"}'
    rows[1] = replace(rows[1], content=content, hash=chained_hash(rows[1].prev, content))
    assert causes(walk(rows, appended=5)) == [(Cause.REHASHED, 20)]
    assert causes(walk(rows)) == [(Cause.GAP, 30)]


def test_tail_cut_is_named_by_the_count() -> None:
    outcome = walk(build(5)[:3], appended=5)
    assert causes(outcome) == [(Cause.TAIL, 3)]
    assert outcome.findings[0].count == 2


def test_row_linked_over_is_inserted_and_its_group_state_undone() -> None:
    rows = build(6, groups=2)
    fake = forged(35, rows[2].hash, valid=False)
    fake = replace(fake, group=1, seq=3, group_prev=rows[2].group_hash, group_hash="e" * 64)
    tampered = [*rows[:3], fake, *rows[3:]]
    outcome = walk(tampered, appended=6)
    # Row 5 (group 1, seq 3) links to row 3 once the forgery is out: no group finding.
    assert causes(outcome) == [(Cause.LINKED_OVER, 35)]


def test_deletion_then_a_later_insertion_both_named() -> None:
    """Custody's old walk dropped the deletion once a later row linked over the insertion."""
    rows = build(10)
    del rows[2]  # id 3
    fake = forged(65, rows[4].hash, valid=True)  # after id 6, linking correctly
    tampered = [*rows[:5], fake, *rows[5:]]
    outcome = walk(tampered, appended=10)
    assert causes(outcome) == [(Cause.GAP, 4), (Cause.LINKED_OVER, 65)]


def test_forged_newest_row_forking_back_is_the_insertion() -> None:
    """A copy of an older row's link at the end: the newest row is the slip-in (the old
    clinic walk named every row it linked over instead)."""
    rows = build(8)
    fake = forged(9, rows[4].hash, valid=False)  # links back to id 5
    outcome = walk([*rows, fake], appended=8)
    assert causes(outcome) == [(Cause.FORKED, 9)]
    assert outcome.head_id == 8


def test_anchor_vouches_for_the_newest_row() -> None:
    rows = build(5)
    fake = forged(45, rows[3].hash, valid=True)  # a valid forgery before the newest row
    tampered = [*rows[:4], fake, rows[4]]
    # Both claim row 4 as predecessor and both hashes hold: without the anchor the newest
    # is taken for the slip-in; the anchored head settles it.
    assert causes(walk(tampered, appended=5)) == [(Cause.FORKED, 5)]
    anchored = walk(tampered, appended=5, anchors=((5, rows[4].hash),))
    assert causes(anchored) == [(Cause.LINKED_OVER, 45)]


def test_anchor_mismatch_and_gone() -> None:
    rows = build(4)
    outcome = walk(rows[:3], appended=3, anchors=((2, "a" * 64), (4, rows[3].hash)))
    assert causes(outcome) == [(Cause.ANCHOR, 2), (Cause.ANCHOR_GONE, 4)]


def test_run_of_broken_rows_at_the_end_is_inserted_only_with_surplus() -> None:
    rows = build(4)
    fake = replace(forged(5, "e" * 64, valid=False), content='{"forged":2}')
    assert causes(walk([*rows, fake], appended=4)) == [(Cause.UNLINKED, 5)]
    # No surplus: a genuine row after a deletion, edited as well.
    edited = replace(rows[3], content='{"n":"x"}')
    outcome = walk([*rows[:2], edited], appended=4)
    assert causes(outcome) == [(Cause.CONTENT, 4), (Cause.GAP, 4)]


def test_surplus_rows_linking_correctly() -> None:
    rows = build(3)
    valid = forged(4, rows[-1].hash, valid=True)
    assert causes(walk([*rows, valid], appended=3)) == [(Cause.SURPLUS, 4)]
    broken = forged(4, rows[-1].hash, valid=False)
    assert causes(walk([*rows, broken], appended=3)) == [(Cause.SURPLUS_BROKEN, 4)]


def test_surplus_beyond_the_window_is_counted() -> None:
    outcome = walk(build(10), appended=2, window=5)
    named = [f.row_id for f in outcome.findings if f.cause is Cause.SURPLUS]
    assert named == [10, 9, 8, 7, 6, None]
    assert outcome.findings[-1].count == 3


def test_group_out_of_order_and_broken_link() -> None:
    rows = build(6, groups=2)
    rows[3] = replace(rows[3], seq=1)  # group 0: seq 1 again (was 2)
    rows[4] = replace(rows[4], group_prev="b" * 64)  # group 1, seq 3
    outcome = walk(rows, appended=6)
    assert (Cause.GROUP_ORDER, 4) in causes(outcome)
    assert (Cause.GROUP_LINK, 5) in causes(outcome)
    link = next(f for f in outcome.findings if f.cause is Cause.GROUP_LINK)
    assert link.other == 3


def test_inserted_run_longer_than_a_small_window_is_still_caught() -> None:
    rows = build(6)
    run, prev = [], rows[2].hash
    for i in range(8):
        fake = forged(31 + i, prev, valid=True, content=f'{{"forged":{i}}}')
        run.append(fake)
        prev = fake.hash
    tampered = [*rows[:3], *run, *rows[3:]]
    assert causes(walk(tampered, appended=6)) == [(Cause.LINKED_OVER, 31 + i) for i in range(8)]
    assert walk(tampered, appended=6, window=4).findings  # named less precisely, but named


def test_walk_chain_hashes_canonical_content() -> None:
    rows = build(3)
    stored = [ChainedRow(r.id, r.prev, r.hash, r.content) for r in rows]
    assert walk_chain(stored, appended=3).findings == ()
    stored[1] = stored[1]._replace(content='{"n":"x"}')
    assert [f.cause for f in walk_chain(stored, appended=3).findings] == [Cause.CONTENT]


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(min_value=3, max_value=40),
    groups=st.integers(min_value=1, max_value=4),
    position=st.integers(min_value=0, max_value=39),
    kind=st.sampled_from(list(Kind)),
    window=st.sampled_from([3, 64]),
)
def test_any_single_tampering_of_a_grouped_chain_is_found(
    size: int, groups: int, position: int, kind: Kind, window: int
) -> None:
    rows = build(size, groups=groups, step=10)
    at = position % size
    if kind is Kind.MODIFIED:
        rows[at] = replace(rows[at], content='{"changed":1}')
    elif kind is Kind.DELETED:
        del rows[at]
    else:
        prev = rows[at - 1].hash if at else GENESIS
        rows.insert(at, forged(rows[at].id - 5, prev, valid=True))
    outcome = walk(rows, appended=size, window=window)
    assert outcome.findings
    assert kind in {f.kind for f in outcome.findings}
