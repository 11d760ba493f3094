"""The audit chain check on in-memory entries: each kind of tampering is named.

The entries are handed over as the repository streams them: links plus canonical content.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from labdesk.domain.audit import AuditAction, AuditEntry
from labdesk.domain.audit_chain import ChainReport, ProblemKind
from labdesk.domain.audit_chain import verify_chain as verify_rows
from labdesk.domain.chain_verify import ChainedRow
from labdesk.domain.hashchain import GENESIS, canonical, link_hash

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def verify_chain(
    entries: Iterable[AuditEntry],
    *,
    expected_count: int | None = None,
    anchor: tuple[int, str] | None = None,
) -> ChainReport:
    """The check over ``entries`` as stored rows (what ``stream_audit`` yields)."""
    rows = (ChainedRow(e.id or 0, e.prev_hash, e.hash, canonical(e.content())) for e in entries)
    return verify_rows(rows, expected_count=expected_count, anchor=anchor)


def _chain(n: int, step: int = 1) -> list[AuditEntry]:
    entries = []
    previous = GENESIS
    for i in range(1, n + 1):
        entry = AuditEntry(
            id=i * step,
            at=START + timedelta(minutes=i),
            action=AuditAction.VIEW,
            entity="patient",
            entity_id=str(i),
            user_id=1,
            detail="search",
        )
        entry.prev_hash = previous
        entry.hash = link_hash(previous, entry.content())
        previous = entry.hash
        entries.append(entry)
    return entries


def _forged(id_: int, prev_hash: str, *, valid: bool) -> AuditEntry:
    entry = AuditEntry(
        id=id_, at=START, action=AuditAction.DELETE, entity="patient", entity_id="9", user_id=2
    )
    entry.prev_hash = prev_hash
    entry.hash = link_hash(prev_hash, entry.content()) if valid else "f" * 64
    return entry


def test_intact_chain() -> None:
    entries = _chain(5)
    report = verify_chain(entries, expected_count=5)
    assert report.ok
    assert (report.checked, report.head_id, report.head_hash) == (5, 5, entries[-1].hash)


def test_empty_log_is_intact() -> None:
    assert verify_chain([], expected_count=0).ok


def test_modified_entry_is_named() -> None:
    entries = _chain(5)
    entries[2].outcome = "failure"
    report = verify_chain(entries, expected_count=5)
    assert report.ids(ProblemKind.MODIFIED) == [3]
    assert len(report.problems) == 1


def test_flagging_an_entry_later_is_a_modification() -> None:
    entries = _chain(3)
    entries[0].flagged = True
    assert verify_chain(entries, expected_count=3).ids(ProblemKind.MODIFIED) == [1]


def test_deleted_entry_is_named_by_the_gap() -> None:
    entries = _chain(6)
    del entries[2]
    report = verify_chain(entries, expected_count=6)
    assert report.ids(ProblemKind.DELETED) == [4]
    assert "between entry #2 and entry #4 (ids 3–3)" in report.problems[0].detail


def test_deleted_first_entry() -> None:
    entries = _chain(4)[1:]
    report = verify_chain(entries, expected_count=4)
    assert report.ids(ProblemKind.DELETED) == [2]


def test_deleted_last_entries_are_caught_by_the_count() -> None:
    entries = _chain(5)[:3]
    report = verify_chain(entries, expected_count=5)
    assert report.ids(ProblemKind.DELETED) == [3]
    assert "2 entries missing after entry #3" in report.problems[0].detail


def test_inserted_forgery_in_the_middle_is_named() -> None:
    entries = _chain(4)
    forged = _forged(99, entries[1].hash, valid=True)
    tampered = [*entries[:2], forged, *entries[2:]]
    report = verify_chain(tampered, expected_count=4)
    assert report.ids(ProblemKind.INSERTED) == [99]
    assert len(report.problems) == 1


def test_inserted_forgery_with_bogus_hash_is_named() -> None:
    entries = _chain(4)
    tampered = [*entries[:2], _forged(99, "e" * 64, valid=False), *entries[2:]]
    report = verify_chain(tampered, expected_count=4)
    assert report.ids(ProblemKind.INSERTED) == [99]


def test_appended_forgery_that_links_correctly_is_caught_by_the_count() -> None:
    entries = _chain(3)
    tampered = [*entries, _forged(4, entries[-1].hash, valid=True)]
    report = verify_chain(tampered, expected_count=3)
    assert report.ids(ProblemKind.INSERTED) == [4]


def test_rewritten_entry_with_recomputed_hash() -> None:
    entries = _chain(4)
    rewritten = dataclasses.replace(entries[1], outcome="failure")
    rewritten.hash = link_hash(rewritten.prev_hash, rewritten.content())
    tampered = [entries[0], rewritten, *entries[2:]]
    report = verify_chain(tampered, expected_count=4)
    assert report.ids(ProblemKind.MODIFIED) == [2]
    assert "rewritten" in report.problems[0].detail


def test_anchor_catches_a_fully_recomputed_tail() -> None:
    entries = _chain(4)
    anchor = (3, entries[2].hash)
    # Rewrite entries 3 and 4 and recompute every later hash: the chain alone is fooled.
    previous = entries[1].hash
    forged = []
    for entry in entries[2:]:
        copy = dataclasses.replace(entry, detail="rewritten")
        copy.prev_hash = previous
        copy.hash = link_hash(previous, copy.content())
        previous = copy.hash
        forged.append(copy)
    tampered = [*entries[:2], *forged]
    assert verify_chain(tampered, expected_count=4).ok
    report = verify_chain(tampered, expected_count=4, anchor=anchor)
    assert report.ids(ProblemKind.MODIFIED) == [3]


def test_missing_anchor_entry() -> None:
    entries = _chain(4)
    report = verify_chain(entries[:2], expected_count=2, anchor=(3, entries[2].hash))
    assert report.ids(ProblemKind.DELETED) == [3]


@settings(max_examples=200)
@given(
    size=st.integers(min_value=2, max_value=30),
    position=st.integers(min_value=0, max_value=29),
    kind=st.sampled_from(list(ProblemKind)),
    valid_forgery=st.booleans(),
)
def test_any_single_tampering_is_found_and_named(
    size: int, position: int, kind: ProblemKind, valid_forgery: bool
) -> None:
    entries = _chain(size, step=10)  # free ids between entries, as PostgreSQL sequences leave
    at = position % size
    if kind is ProblemKind.MODIFIED:
        entries[at].entity_id = "changed"
        expected = entries[at].id
    elif kind is ProblemKind.DELETED:
        del entries[at]
        expected = entries[at].id if at < len(entries) else entries[-1].id
    else:
        previous = entries[at - 1].hash if at else GENESIS
        expected = (entries[at - 1].id or 0) + 5 if at else 5
        entries.insert(at, _forged(expected, previous, valid=valid_forgery))
    report = verify_chain(entries, expected_count=size)
    assert not report.ok
    if kind is ProblemKind.INSERTED and valid_forgery and at == size - 1:
        # A forgery with a correct hash just before the newest entry: both claim the same
        # predecessor and either could be the fake; the check names one (an anchor settles it).
        assert report.ids(kind) in ([expected], [entries[-1].id]), report.problems
        return
    assert report.ids(kind) == [expected], report.problems
