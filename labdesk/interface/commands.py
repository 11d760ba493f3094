"""Interface commands: each state-changing use case of the result worklist, with its handler.

Handlers adapt the use cases in this package to the bus (``labdesk.kernel.messagebus``):
the bus opens the unit of work, claims the idempotency key and commits; the use case checks
permission, does the work and writes audit. The lists (unmatched results, dead letters,
match candidates) are queries: front ends read them with ``bus.query`` (``list_unmatched``
and ``match_candidates`` record the view in the audit log themselves, as any audited read).
The FHIR export is a command because the export is recorded, as ``ExportAuditLog`` is. The
HL7 listener and ingestor run as a service and open their own units of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labdesk.interface.fhir_export import export_specimen_fhir
from labdesk.interface.worklist import (
    dismiss_unmatched,
    match_unmatched,
    match_unmatched_by_accession,
    resolve_dead_letter,
)
from labdesk.kernel.messagebus import Command, HandlerContext, handler


@dataclass(frozen=True, kw_only=True)
class MatchUnmatched(Command[int]):
    """Attach an unmatched result group to the ordered test a person picked.

    Returns the number of results stored. ``timezone`` is the clinic's (the stored
    message's times are read in it).
    """

    unmatched_id: int
    ordered_test_id: int
    timezone: str


@handler(MatchUnmatched)
def _match_unmatched(command: MatchUnmatched, ctx: HandlerContext) -> int:
    return match_unmatched(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.unmatched_id,
        command.ordered_test_id,
        timezone=command.timezone,
    )


@dataclass(frozen=True, kw_only=True)
class MatchUnmatchedByAccession(Command[int]):
    """Attach an unmatched result group to test ``test_code`` on specimen ``accession``.

    For a test the candidate list does not show; returns the number of results stored.
    """

    unmatched_id: int
    accession: str
    test_code: str
    timezone: str


@handler(MatchUnmatchedByAccession)
def _match_unmatched_by_accession(command: MatchUnmatchedByAccession, ctx: HandlerContext) -> int:
    return match_unmatched_by_accession(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.unmatched_id,
        command.accession,
        command.test_code,
        timezone=command.timezone,
    )


@dataclass(frozen=True, kw_only=True)
class DismissUnmatched(Command[None]):
    """Close an unmatched result without attaching it, for the reason given."""

    unmatched_id: int
    reason: str


@handler(DismissUnmatched)
def _dismiss_unmatched(command: DismissUnmatched, ctx: HandlerContext) -> None:
    dismiss_unmatched(ctx.uow, ctx.clock, ctx.user, command.unmatched_id, command.reason)


@dataclass(frozen=True, kw_only=True)
class ResolveDeadLetter(Command[None]):
    """Mark a refused message as dealt with, with a note of how."""

    message_id: int
    note: str


@handler(ResolveDeadLetter)
def _resolve_dead_letter(command: ResolveDeadLetter, ctx: HandlerContext) -> None:
    resolve_dead_letter(ctx.uow, ctx.clock, ctx.user, command.message_id, command.note)


@dataclass(frozen=True, kw_only=True)
class ExportSpecimenFhir(Command[dict[str, Any]]):
    """Build the FHIR R4 Bundle of a specimen's record (the export is audited)."""

    accession: str


@handler(ExportSpecimenFhir)
def _export_specimen_fhir(command: ExportSpecimenFhir, ctx: HandlerContext) -> dict[str, Any]:
    return export_specimen_fhir(ctx.uow, ctx.clock, ctx.user, command.accession)
