"""Results commands: each use case of the clinician board that changes state, and its handler.

Handlers adapt the use cases in this package to the bus (``labdesk.kernel.messagebus``):
the bus opens the unit of work, claims the idempotency key and commits; the use case checks
permission, does the work and writes audit. Reads are queries, sent with ``bus.query`` (or
``QueryOp``), not commands, and write no ``handled_commands`` row: the board's load
(:func:`~labdesk.results.board.load_board`, which commits its own refresh of the board
table and its view audit), its pages and change marker, the overdue counts, a result's
drill-down and the signing preview (which commit their view audit themselves), and the
turnaround figures. A read sent twice is two reads (two views audited), so it carries no
idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labdesk.domain.overdue import OverduePolicy
from labdesk.domain.result import AckMeaning
from labdesk.kernel.messagebus import Command, HandlerContext, handler
from labdesk.results.acknowledge import acknowledge_results
from labdesk.results.board_dto import AckOutcome, EscalationSent
from labdesk.results.board_query import BoardQuery
from labdesk.results.board_refresh import Progress, RefreshOutcome, rebuild_board
from labdesk.results.export import ExportFormat, ExportSummary, export_board
from labdesk.results.overdue import escalate_overdue_criticals, set_covering_by_username


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
    return escalate_overdue_criticals(ctx.uow, ctx.clock, command.policy, command.default_covering)


@dataclass(frozen=True, kw_only=True)
class AcknowledgeResults(Command[AckOutcome]):
    """Sign off one result, or several normal final results at once, with a meaning."""

    ordered_test_ids: tuple[int, ...]
    meaning: AckMeaning
    note: str = ""
    station: str = ""


@handler(AcknowledgeResults)
def _acknowledge_results(command: AcknowledgeResults, ctx: HandlerContext) -> AckOutcome:
    return acknowledge_results(
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
class RebuildBoard(Command[RefreshOutcome]):
    """Recompute every board entry (``labdesk overdue rebuild-board``).

    ``progress(done, total)`` is called as entries are written (a progress bar).
    """

    policy: OverduePolicy
    progress: Progress | None = None


@handler(RebuildBoard)
def _rebuild_board(command: RebuildBoard, ctx: HandlerContext) -> RefreshOutcome:
    return rebuild_board(ctx.uow, ctx.clock, command.policy, progress=command.progress)
