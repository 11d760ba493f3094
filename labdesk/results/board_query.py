"""What the clinician board asks for: criteria, sort order and the matching rule.

The board is read a page at a time (see :mod:`labdesk.results.board`): a
:class:`BoardQuery` names the filter and the order, and the services answer with a count
and the rows of one page. Searching matches the *start* of a word, as a clinician types it:
an MRN, an accession, an order number, a test code or any word of the test's name, the
patient's family or given name (as a whole: "ann" does not find "Mary Ann"), or any word of
the ordering clinician's name.

:func:`matches` and :func:`sort_key` state the rules in plain Python; the SQL that runs
them over the board table is tested against these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import FlagReason
from labdesk.results.board_dto import BoardRow

ANY_FLAG = "any"
"""``BoardQuery.flag`` value selecting rows with at least one raised flag."""
PAGE_SIZE = 200
"""Rows per page read from the board table."""
STATUS_RANK = {status: rank for rank, status in enumerate(TestStatus)}
"""Sort rank of each status (the order of the workflow)."""
_NO_TIME = float("inf")


class SortKey(StrEnum):
    """Columns the board sorts on (every sort ends with the ordered test id)."""

    URGENCY = "urgency"
    """Most urgent raised flag first, then the earliest due time."""
    DUE = "due"
    PATIENT = "patient"
    MRN = "mrn"
    TEST = "test"
    STATUS = "status"
    RESULT = "result"
    """Worst result first (critical, abnormal, normal, none)."""
    PRIORITY = "priority"
    """STAT first."""
    CLINICIAN = "clinician"
    ORDERED = "ordered"
    COLLECTED = "collected"
    ACCESSION = "accession"


@dataclass(frozen=True)
class BoardQuery:
    """What the clinician narrowed the board to, and its order (empty fields do not filter)."""

    clinician: str = ""
    """Ordering clinician's name, exactly as on the order."""
    clinician_id: int | None = None
    """Tests ordered by, or escalated to, this user ("my results")."""
    patient: str = ""
    """Start of the patient's MRN, family name or given name."""
    status: TestStatus | None = None
    flag: FlagReason | str | None = None
    """A reason code, ``ANY_FLAG``, or None."""
    text: str = ""
    """Words, each the start of a searchable word of the row (see the module docstring)."""
    include_closed: bool = False
    """Also list tests acknowledged in the last days (the board keeps them a while)."""
    sort: SortKey = SortKey.URGENCY
    """Most urgent first by default: a critical result tops the board the moment it is stored."""
    descending: bool = False

    def but(self, **changes: Any) -> BoardQuery:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @property
    def words(self) -> tuple[str, ...]:
        """The search words, case-folded."""
        return tuple(self.text.casefold().split())

    @property
    def patient_words(self) -> tuple[str, ...]:
        """The patient filter's words, case-folded."""
        return tuple(self.patient.casefold().split())


def raised(row: BoardRow, now_s: float) -> BoardRow:
    """``row`` with only the deadlines passed at ``now_s`` as its flags."""
    return row._replace(flags=tuple(f for f in row.flags if f.due_s <= now_s))


def name_words(text: str) -> list[str]:
    """Case-folded words of a name (split on spaces, commas, hyphens and full stops)."""
    for mark in ",-.":
        text = text.replace(mark, " ")
    return text.casefold().split()


def split_name(patient_name: str) -> tuple[str, str]:
    """``(family, given)`` of a board row's ``"Family, Given"`` name."""
    family, _, given = patient_name.partition(", ")
    return family, given


def patient_words(row: BoardRow) -> list[str]:
    """What the patient filter matches the start of: MRN, whole family and given names."""
    family, given = split_name(row.patient_name)
    return [row.mrn.casefold(), family.casefold(), given.casefold()]


def search_words(row: BoardRow) -> list[str]:
    """Every word the search box matches the start of."""
    return [
        *patient_words(row),
        row.accession.casefold(),
        row.placer_order_number.casefold(),
        row.test_code.casefold(),
        *name_words(row.test_name),
        *name_words(row.ordering_provider),
    ]


def _prefixed(words: Iterable[str], wanted: tuple[str, ...]) -> bool:
    have = list(words)
    return all(any(w.startswith(x) for w in have) for x in wanted)


def matches(query: BoardQuery, row: BoardRow) -> bool:
    """True when ``row`` (flags already limited to the raised ones) passes ``query``."""
    if not query.include_closed and not row.status.is_open:
        return False
    if query.status is not None and row.status is not query.status:
        return False
    if query.clinician and row.ordering_provider != query.clinician:
        return False
    if query.clinician_id is not None and query.clinician_id not in (
        row.ordering_provider_id,
        row.escalated_to_id,
    ):
        return False
    if query.flag == ANY_FLAG and not row.flags:
        return False
    if isinstance(query.flag, FlagReason) and query.flag not in row.reasons:
        return False
    if query.patient_words and not _prefixed(patient_words(row), query.patient_words):
        return False
    return not query.words or _prefixed(search_words(row), query.words)


def sort_value(key: SortKey) -> Callable[[BoardRow], Any]:
    """The value a row sorts by under ``key`` (missing times sort last)."""
    values: dict[SortKey, Callable[[BoardRow], Any]] = {
        SortKey.URGENCY: lambda r: (r.urgency or 9, _NO_TIME if r.due_s is None else r.due_s),
        SortKey.DUE: lambda r: _NO_TIME if r.due_s is None else r.due_s,
        SortKey.PATIENT: lambda r: r.patient_name.casefold(),
        SortKey.MRN: lambda r: r.mrn,
        SortKey.TEST: lambda r: r.test_code,
        SortKey.STATUS: lambda r: STATUS_RANK[r.status],
        SortKey.RESULT: lambda r: -r.severity,
        SortKey.PRIORITY: lambda r: 0 if r.stat else 1,
        SortKey.CLINICIAN: lambda r: r.ordering_provider.casefold(),
        SortKey.ORDERED: lambda r: r.ordered_s,
        SortKey.COLLECTED: lambda r: _NO_TIME if r.collected_s is None else r.collected_s,
        SortKey.ACCESSION: lambda r: r.accession,
    }
    return values[key]


def ordered(query: BoardQuery, rows: Iterable[BoardRow]) -> list[BoardRow]:
    """``rows`` in the query's order; ties by ordered test id, in the same direction."""
    value = sort_value(query.sort)
    return sorted(rows, key=lambda r: (value(r), r.ordered_test_id), reverse=query.descending)


__all__ = [
    "ANY_FLAG",
    "PAGE_SIZE",
    "BoardQuery",
    "SortKey",
    "matches",
    "ordered",
    "raised",
    "search_words",
    "sort_value",
]
