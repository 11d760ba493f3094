"""What the clinician board, its drill-down and its chart receive from the services.

Board rows are named tuples rather than frozen dataclasses: 100,000 of them are built per
load, and a tuple is built several times faster while staying immutable and typed. Times on
board rows are POSIX seconds (see :mod:`labdesk.domain.overdue`); the drill-down DTOs, built
one at a time, carry aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import Deadline, FlagReason, Urgency
from labdesk.domain.result import AbnormalFlag, AckMeaning, ResultStatus

if TYPE_CHECKING:
    from labdesk.results.board_query import BoardQuery

NO_RESULT = -1
NORMAL = 0
ABNORMAL = 1
CRITICAL = 2


class BoardRow(NamedTuple):
    """One ordered test on the board, with its pending deadlines and raised flags."""

    ordered_test_id: int
    order_id: int
    placer_order_number: str
    test_code: str
    test_name: str
    status: TestStatus
    stat: bool
    ordering_provider: str
    ordering_provider_id: int | None
    patient_id: int
    mrn: str
    patient_name: str
    accession: str
    specimen_status: str
    ordered_s: float
    collected_s: float | None
    result_s: float | None
    severity: int
    """``NO_RESULT``, ``NORMAL``, ``ABNORMAL`` or ``CRITICAL`` (worst current result)."""
    due_s: float | None
    """The earliest pending deadline (overdue or not); None for a closed test."""
    flags: tuple[Deadline, ...]
    escalated: bool
    """True once a critical result of the test was escalated (recipient or not)."""
    escalated_to_id: int | None
    escalated_to: str
    status_changed_s: float | None = None
    """When the status last changed (for an acknowledged test: when it was closed)."""
    waiting: FlagReason | None = None
    """The step the test waits for while it is not yet overdue (e.g. acknowledgement)."""
    note: str = ""
    """Why a test still waiting for collection waits (a reschedule's or a missed draw's
    reason, e.g. "Rescheduled: fasting not met ..."); read for the rows shown only."""
    needs_reconciliation: bool = False
    """An open downtime reconciliation item names this test (issue 12): a station's offline
    work on it conflicted with the server's; read for the rows shown only."""

    @property
    def overdue(self) -> bool:
        """True when at least one flag is raised."""
        return bool(self.flags)

    @property
    def urgency(self) -> Urgency | None:
        """The most urgent raised flag's level."""
        return min((f.reason.urgency for f in self.flags), default=None)

    @property
    def reasons(self) -> tuple[FlagReason, ...]:
        """Reason codes of the raised flags."""
        return tuple(f.reason for f in self.flags)

    @property
    def bulk_acknowledgeable(self) -> bool:
        """True for a normal final result: the only kind acknowledged several at once."""
        return self.status is TestStatus.FINAL and self.severity == NORMAL


@dataclass(frozen=True)
class Board:
    """One load of the board: the counts, and the first page of the rows a query matches."""

    rows: list[BoardRow]
    """The first page (flags are the deadlines passed at ``loaded_at``)."""
    counts: dict[FlagReason, int]
    """Raised flags by reason over every open test, including unmatched results."""
    unmatched_results: int
    loaded_at: datetime
    marker: tuple[object, ...]
    """The change marker read with the rows (compare with :func:`board_marker`)."""
    total: int = 0
    """How many rows the query matches (``rows`` is the first page of them)."""
    query: BoardQuery | None = None
    clinicians: tuple[str, ...] = ()
    """Every ordering clinician named on the board, for the clinician picker."""
    open_total: int = 0
    """Open tests on the board, whatever the query."""
    listed_total: int = 0
    """Open tests plus the recently acknowledged ones kept on the board."""
    criticals: tuple[BoardRow, ...] = ()
    """Unacknowledged critical results, whatever the query (for a user who may sign them)."""
    next_due_s: float | None = None
    """When the board next changes by time alone (a deadline passes, a critical escalates),
    POSIX seconds; None: nothing pending. A screen reloads then instead of polling."""

    def whole(self, include_closed: bool) -> int:
        """Rows of the unfiltered board (with the kept closed tests when asked)."""
        return self.listed_total if include_closed else self.open_total

    @property
    def now_s(self) -> float:
        """``loaded_at`` in POSIX seconds: page reads use it so flags stay consistent."""
        return self.loaded_at.timestamp()


@dataclass(frozen=True)
class BoardPage:
    """Rows ``offset`` … ``offset + len(rows)`` of a query's matches."""

    offset: int
    rows: list[BoardRow]
    total: int | None
    """How many rows match (None when the caller did not ask for the count)."""


@dataclass(frozen=True)
class ResultLine:
    """One observation in the drill-down, current or superseded."""

    id: int
    observation_code: str
    observation_name: str
    value: str
    units: str
    reference_range: str
    abnormal_flag: AbnormalFlag | None
    status: ResultStatus
    observed_at: datetime | None
    received_at: datetime
    supersedes_id: int | None
    superseded: bool
    """True when a correction replaced this value (kept as history)."""


@dataclass(frozen=True)
class CustodyLine:
    """One custody event of the specimen."""

    seq: int
    kind: str
    occurred_at: datetime
    location: str
    actor: str
    reason: str
    note: str


@dataclass(frozen=True)
class Signature:
    """An acknowledgement as 21 CFR 11.50 wants it shown: printed name, date/time, meaning."""

    printed_name: str
    signed_at: datetime
    meaning: AckMeaning
    note: str


@dataclass(frozen=True)
class EscalationLine:
    """An escalation of the test to a covering clinician."""

    reason: FlagReason
    since_at: datetime
    escalated_at: datetime
    to_name: str


@dataclass(frozen=True)
class TestDetail:
    """The drill-down of one ordered test."""

    row: BoardRow
    results: list[ResultLine]
    custody: list[CustodyLine]
    signatures: list[Signature]
    escalations: list[EscalationLine]
    caveat: str | None = None
    """Why the results need care, e.g. the tube was received beyond its stability."""
    pending_note: str = ""
    """Why a test still waiting for collection was not drawn at the chair (rescheduled)."""


@dataclass(frozen=True)
class AckOutcome:
    """What an acknowledgement did."""

    acknowledged: list[int]
    already_closed: list[int]
    """Tests another clinician closed first (nothing recorded for them)."""
    signed_by: str
    signed_at: datetime
    meaning: AckMeaning


@dataclass(frozen=True)
class TurnaroundStat:
    """Turnaround from collection to final result for one test."""

    test_code: str
    test_name: str
    samples: int
    median_min: float
    p90_min: float
    target_min: int


@dataclass(frozen=True)
class EscalationSent:
    """An escalation recorded by the escalation sweep."""

    ordered_test_id: int
    to_user_id: int | None
    to_name: str
