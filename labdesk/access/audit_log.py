"""Reading the audit log: search, CSV export, review of flagged entries, chain verification.

``actor=None`` means the command line, run on the server or a workstation by someone with
the operating-system rights to the database (no LabDesk sign-in, no permission check).
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from labdesk.domain.audit import AuditAction
from labdesk.domain.audit_chain import ChainProblem, ChainReport, ProblemKind, verify_chain
from labdesk.domain.audit_query import AuditQuery, AuditRow
from labdesk.domain.clock import Clock
from labdesk.domain.errors import ValidationError
from labdesk.domain.hashchain import AUDIT
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork

AUDIT_LOG = "audit_log"
REVIEWED = "audit_entry"
CSV_COLUMNS = (
    "id",
    "at_utc",
    "user",
    "station",
    "action",
    "entity",
    "entity_id",
    "outcome",
    "flagged",
    "reviewed",
    "detail",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def search_audit_log(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, query: AuditQuery
) -> list[AuditRow]:
    """Entries matching ``query``, newest first, with their review state."""
    authorize(actor, Permission.VIEW_AUDIT)
    rows = uow.access.search_audit(_without_nul(query))
    reviewed = uow.access.reviewed([r.id for r in rows if r.flagged])
    return [dataclasses.replace(r, reviewed=r.id in reviewed) if r.flagged else r for r in rows]


def _without_nul(query: AuditQuery) -> AuditQuery:
    """Filters with NUL characters removed (PostgreSQL refuses them in text)."""
    texts = ("username", "entity", "entity_id", "text")
    return dataclasses.replace(
        query, **{name: getattr(query, name).replace("\x00", "") for name in texts}
    )


def audit_entities(uow: UnitOfWork, clock: Clock, actor: SignedInUser) -> list[str]:
    """Entity names present in the log (choices for the viewer's filter)."""
    authorize(actor, Permission.VIEW_AUDIT)
    return uow.access.entities()


def mark_reviewed(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, entry_ids: Sequence[int], note: str = ""
) -> int:
    """Record an administrator's review of flagged entries (appended; caller commits).

    Returns:
        How many entries were newly marked.
    """
    authorize(actor, Permission.VIEW_AUDIT)
    done = uow.access.reviewed(entry_ids)
    fresh = [i for i in dict.fromkeys(entry_ids) if i not in done]
    for entry_id in fresh:
        record_audit(
            uow,
            clock,
            action=AuditAction.REVIEW,
            entity=REVIEWED,
            entity_id=entry_id,
            detail=note,
            actor=actor,
        )
    return len(fresh)


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_audit_csv(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, query: AuditQuery, path: Path
) -> int:
    """Write the entries matching ``query`` to a CSV file readable by its owner only.

    The export is itself audited (commits with the caller). Entries hold record ids, never
    patient names, so the file carries no demographics.

    Returns:
        The number of entries written.

    Raises:
        ValidationError: if the file cannot be written.
    """
    authorize(actor, Permission.VIEW_AUDIT)
    rows = search_audit_log(uow, clock, actor, query)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for r in rows:
                writer.writerow(
                    [
                        _cell(v)
                        for v in (
                            r.id,
                            r.at.isoformat(timespec="seconds"),
                            r.username,
                            r.station,
                            r.action.value,
                            r.entity,
                            r.entity_id,
                            r.outcome,
                            "yes" if r.flagged else "",
                            "yes" if r.reviewed else "",
                            r.detail,
                        )
                    ]
                )
    except OSError as exc:
        raise ValidationError(
            f"Cannot write {path}: {exc.strerror}.", hint="Choose a writable folder."
        ) from exc
    record_audit(
        uow,
        clock,
        action=AuditAction.EXPORT,
        entity=AUDIT_LOG,
        entity_id="",
        detail=f"{len(rows)} entries to CSV",
        actor=actor,
    )
    return len(rows)


def verify_audit_log(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    *,
    anchor: tuple[int, str] | None = None,
    record: bool = True,
) -> ChainReport:
    """Check the whole chain (see :mod:`labdesk.domain.chain_verify`): the stored rows with
    their canonical content from the repository, the writer's counter and the anchors.

    With ``record`` the check and its outcome are appended to the log (caller commits).
    """
    if actor is not None:
        authorize(actor, Permission.VERIFY_CHAINS)
    written = uow.access.audit_written()
    recent = uow.anchors.recent(AUDIT) if uow.anchors is not None else []
    noted = max(recent, key=lambda a: a.count) if recent else None
    lowered: list[ChainProblem] = []
    if noted is not None and written < noted.count:
        lowered.append(
            ChainProblem(
                ProblemKind.DELETED,
                noted.id,
                f"the entry counter reads {written}, but {noted.count} entries were anchored "
                f"outside the database at {noted.at:%Y-%m-%d %H:%M} UTC: the counter was "
                "lowered and entries removed",
            )
        )
        written = noted.count
    report = verify_chain(
        uow.access.stream_audit(),
        expected_count=written,
        anchor=anchor,
        anchors=[(a.id, a.hash) for a in recent],
    )
    report = dataclasses.replace(
        report,
        problems=tuple(lowered) + report.problems,
        guards=tuple(uow.access.guard_problems()),
        anchored=anchor is not None or bool(recent),
    )
    if record:
        record_audit(
            uow,
            clock,
            action=AuditAction.VIEW,
            entity=AUDIT_LOG,
            entity_id="",
            outcome="verified" if report.ok else "tampered",
            detail=f"chain check of {report.checked} entries: "
            f"{len(report.problems) + len(report.guards)} problem(s)",
            actor=actor,
            flagged=not report.ok,
        )
    return report
