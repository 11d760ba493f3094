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

    @property
    def every_open_test(self) -> bool:
        """True when the criteria select exactly the open tests (no filter, no closed ones):
        their count is the one the board keeps (order and sort do not change a count)."""
        return not (
            self.include_closed
            or self.status is not None
            or self.clinician
            or self.clinician_id is not None
            or self.any_flag
            or self.reason is not None
            or self.patient_words
            or self.words
        )
