"""Results commands: each state-changing use case of the clinician board and its handler.

Handlers adapt the use cases in this package to the bus (``labdesk.kernel.messagebus``):
the bus opens the unit of work, claims the idempotency key and commits; the use case checks
permission, does the work and writes audit. Reads that write an audit entry (the board load,
the drill-down, the signing preview) are commands too: the entry is part of what they do.
The board's page reads, its change marker and the turnaround figures are queries
(``query_board_in``, ``board_marker_in``, ``turnaround_stats_in``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.result import AckMeaning
from labdesk.kernel.messagebus import Command, HandlerContext, handler
from labdesk.results.ack_dto import SigningPreview
from labdesk.results.acknowledge import acknowledge_results_in, result_detail_in, signing_preview_in
from labdesk.results.board import load_board_in, overdue_tally_in
from labdesk.results.board_dto import AckOutcome, Board, EscalationSent, TestDetail
from labdesk.results.board_query import PAGE_SIZE, BoardQuery
from labdesk.results.board_refresh import Progress, RefreshOutcome, rebuild_board_in
from labdesk.results.export import ExportFormat, ExportSummary, export_board
from labdesk.results.overdue import escalate_overdue_criticals_in, set_covering_by_username


@dataclass(frozen=True, kw_only=True)
class LoadBoard(Command[Board]):
    """Bring the board table up to date and read the flag counts and the query's first page.

    ``audit`` records the view (a clinician opening or refreshing the board; the page's own
    reloads after a change are not recorded again).
    """

    policy: OverduePolicy
    query: BoardQuery = field(default_factory=BoardQuery)
    audit: bool = True
    station: str = ""
    page_size: int = PAGE_SIZE


@handler(LoadBoard)
def _load_board(command: LoadBoard, ctx: HandlerContext) -> Board:
    return load_board_in(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.policy,
        command.query,
        audit=command.audit,
        station=command.station,
        page_size=command.page_size,
    )


@dataclass(frozen=True, kw_only=True)
class EscalateOverdueCriticals(Command[list[EscalationSent]]):
    """Hand every critical result left unacknowledged past policy to a covering clinician.

    Sent by the open board every minute and by ``labdesk overdue sweep``; each flag is
    escalated once however often it is sent.
    """

    policy: OverduePolicy
    default_covering: str = ""


@handler(EscalateOverdueCriticals)
def _escalate(command: EscalateOverdueCriticals, ctx: HandlerContext) -> list[EscalationSent]:
    return escalate_overdue_criticals_in(
        ctx.uow, ctx.clock, command.policy, command.default_covering
    )


@dataclass(frozen=True, kw_only=True)
class OpenResultDetail(Command[TestDetail]):
    """Read everything about one ordered test for its drill-down, and audit the view."""

    policy: OverduePolicy
    ordered_test_id: int
    station: str = ""


@handler(OpenResultDetail)
def _open_result_detail(command: OpenResultDetail, ctx: HandlerContext) -> TestDetail:
    return result_detail_in(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.policy,
        command.ordered_test_id,
        station=command.station,
    )


@dataclass(frozen=True, kw_only=True)
class PreviewSigning(Command[SigningPreview]):
    """Read what acknowledging these tests would sign, and audit that the patients were seen."""

    ordered_test_ids: tuple[int, ...]


@handler(PreviewSigning)
def _preview_signing(command: PreviewSigning, ctx: HandlerContext) -> SigningPreview:
    return signing_preview_in(ctx.uow, ctx.clock, ctx.user, command.ordered_test_ids)


@dataclass(frozen=True, kw_only=True)
class AcknowledgeResults(Command[AckOutcome]):
    """Sign off one result, or several normal final results at once, with a meaning."""

    ordered_test_ids: tuple[int, ...]
    meaning: AckMeaning
    note: str = ""
    station: str = ""


@handler(AcknowledgeResults)
def _acknowledge_results(command: AcknowledgeResults, ctx: HandlerContext) -> AckOutcome:
    return acknowledge_results_in(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.ordered_test_ids,
        command.meaning,
        command.note,
        station=command.station,
    )


@dataclass(frozen=True, kw_only=True)
class ExportOutstanding(Command[ExportSummary]):
    """Write the outstanding tests the board's query matches to a file, and audit it.

    ``now_s`` is the board's load time (the rows and flags the clinician saw).
    """

    query: BoardQuery
    now_s: float
    path: Path
    format: ExportFormat
    timezone: str
    station: str = ""


@handler(ExportOutstanding)
def _export_outstanding(command: ExportOutstanding, ctx: HandlerContext) -> ExportSummary:
    return export_board(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.query,
        command.now_s,
        command.path,
        command.format,
        timezone=command.timezone,
        station=command.station,
    )


@dataclass(frozen=True, kw_only=True)
class SetCoveringClinician(Command[None]):
    """Make the clinician named ``covering`` cover ``clinician``'s critical results.

    Both are user names. Sent without a signed-in user by ``labdesk overdue cover``.
    """

    clinician: str
    covering: str


@handler(SetCoveringClinician)
def _set_covering(command: SetCoveringClinician, ctx: HandlerContext) -> None:
    set_covering_by_username(ctx.uow, ctx.clock, ctx.actor, command.clinician, command.covering)


@dataclass(frozen=True, kw_only=True)
class CountOverdue(Command[tuple[int, dict[FlagReason, int]]]):
    """Bring the board table up to date and count open tests and raised flags by reason.

    A command because the refresh writes the board table (``labdesk overdue counts``).
    """

    policy: OverduePolicy


@handler(CountOverdue)
def _count_overdue(command: CountOverdue, ctx: HandlerContext) -> tuple[int, dict[FlagReason, int]]:
    return overdue_tally_in(ctx.uow, ctx.clock, command.policy)


@dataclass(frozen=True, kw_only=True)
class RebuildBoard(Command[RefreshOutcome]):
    """Recompute every board entry (``labdesk overdue rebuild-board``).

    ``progress(done, total)`` is called as entries are written (a progress bar).
    """

    policy: OverduePolicy
    progress: Progress | None = None


@handler(RebuildBoard)
def _rebuild_board(command: RebuildBoard, ctx: HandlerContext) -> RefreshOutcome:
    return rebuild_board_in(ctx.uow, ctx.clock, command.policy, progress=command.progress)
