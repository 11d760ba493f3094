"""Accession blocks: offline IDs come from the station's block, with their check digit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labdesk.domain.accession import validate_accession
from labdesk.downtime.blocks import (
    AccessionBlock,
    BlockPolicy,
    format_range,
    needs_top_up,
    remaining,
    usable,
)
from labdesk.downtime.errors import BlockExhausted

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _block(
    first: int, size: int, *, used: int = 0, year: int = 2026, id: int = 1
) -> AccessionBlock:
    return AccessionBlock(id, "DRAW-2", year, first, first + size - 1, first - 1 + used, AT)


def test_take_issues_consecutive_valid_ids_until_exhausted() -> None:
    block = _block(401, 3)
    ids = []
    for _ in range(3):
        block, accession = block.take()
        ids.append(accession)
    assert ids == [validate_accession(a) for a in ids]
    assert [int(a[2:9]) for a in ids] == [401, 402, 403]
    assert all(a.startswith("26") for a in ids)
    assert block.remaining == 0
    assert block.unused_range is None
    with pytest.raises(BlockExhausted, match="pre-printed downtime labels"):
        block.take()


def test_unused_range_is_what_was_reserved_and_not_issued() -> None:
    block = _block(201, 200, used=12)
    assert (block.used, block.remaining) == (12, 188)
    assert block.unused_range == (213, 400)
    assert format_range(block, 213, 400) == f"{block.id_of(213)}..{block.id_of(400)}"


def test_only_this_years_blocks_with_serials_left_are_usable() -> None:
    old = _block(1, 200, year=2025, id=1)
    spent = _block(201, 200, used=200, id=2)
    later = _block(801, 200, id=4)
    current = _block(601, 200, used=190, id=3)
    assert [b.id for b in usable([old, spent, later, current], 2026)] == [3, 4]
    assert remaining([old, spent, later, current], 2026) == 210


@pytest.mark.parametrize(
    ("used", "expected"),
    [(0, False), (150, False), (151, True), (200, True)],
    ids=["fresh", "at-threshold", "below-threshold", "empty"],
)
def test_top_up_when_fewer_than_the_threshold_are_left(used: int, expected: bool) -> None:
    policy = BlockPolicy(size=200, top_up_below=50)
    assert needs_top_up([_block(1, 200, used=used)], 2026, policy) is expected


def test_a_station_without_a_block_needs_one_even_with_threshold_zero() -> None:
    assert needs_top_up([], 2026, BlockPolicy(size=10, top_up_below=0))


@pytest.mark.parametrize(("size", "below"), [(0, 0), (10, 11), (10, -1)])
def test_bad_policy_is_refused(size: int, below: int) -> None:
    with pytest.raises(ValueError, match="policy"):
        BlockPolicy(size=size, top_up_below=below)
