"""A board query in the terms of the board table: what the results service asks storage for.

Plain data: the results service resolves names and words into these, the board repository
turns them into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WordMatch:
    """One search word and what it matches besides prefixes of the row's own keys."""

    word: str
    """Case-folded."""
    test_codes: tuple[str, ...] = ()
    """Tests whose code or a word of whose name starts with the word (from the catalog)."""
    providers: tuple[str, ...] = ()
    """Clinician names with a word starting with the word."""


@dataclass(frozen=True)
class Criteria:
    """A board query in the terms of the table (the service resolves names and words)."""

    now_s: float
    include_closed: bool = False
    closed_since_s: float = 0.0
    """With ``include_closed``: list tests closed at or after this."""
    status: str | None = None
    clinician: str = ""
    clinician_id: int | None = None
    any_flag: bool = False
    reason: str | None = None
    patient_words: tuple[str, ...] = ()
    words: tuple[WordMatch, ...] = ()
    sort: str = "due"
    descending: bool = False
    second_reasons: frozenset[str] | None = None
    """Reasons found among second deadlines (None: unknown, look in both columns)."""
