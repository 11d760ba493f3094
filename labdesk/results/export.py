"""Exporting the outstanding-results list to CSV or PDF (minimum necessary, audited).

The list serves follow-up: who must be contacted about which test and why. It therefore
carries the MRN and name (to find the chart and call the patient), the test, its status,
the raised flags and when they fell due, the ordering clinician and the order and specimen
numbers, and nothing else: no date of birth, no result values. The file is written
owner-readable only, in one step, and the export is recorded in the audit log with the
row count and a digest of the exported test ids (never names).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import ValidationError
from labdesk.domain.overdue import from_posix
from labdesk.domain.permissions import Permission
from labdesk.domain.timefmt import format_local
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.results.board import matching_rows
from labdesk.results.board_dto import BoardRow
from labdesk.results.board_query import BoardQuery

HEADERS = (
    "MRN",
    "Patient",
    "Test",
    "Status",
    "Flags",
    "Overdue since",
    "Ordering clinician",
    "Order",
    "Accession",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
)


class ExportFormat(StrEnum):
    """File formats of the outstanding list."""

    CSV = "csv"
    PDF = "pdf"


@dataclass(frozen=True)
class ExportSummary:
    """What was written."""

    path: Path
    rows: int
    format: ExportFormat


def outstanding(rows: Sequence[BoardRow]) -> list[BoardRow]:
    """The rows still waiting for someone: open tests only."""
    return [r for r in rows if r.status.is_open]


def export_lines(rows: Sequence[BoardRow], timezone: str) -> list[tuple[str, ...]]:
    """One tuple of cell texts per outstanding row, in ``HEADERS`` order."""
    lines: list[tuple[str, ...]] = []
    for row in outstanding(rows):
        since = min((f.due_s for f in row.flags), default=None)
        lines.append(
            (
                row.mrn,
                row.patient_name,
                f"{row.test_code} {row.test_name}",
                row.status.value.replace("_", " "),
                "; ".join(f.reason.label for f in row.flags),
                format_local(from_posix(since), timezone) if since is not None else "",
                row.ordering_provider,
                row.placer_order_number,
                row.accession,
            )
        )
    return lines


def export_outstanding(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    rows: Sequence[BoardRow],
    path: Path,
    fmt: ExportFormat,
    *,
    timezone: str,
    station: str = "",
) -> ExportSummary:
    """Write the outstanding rows to ``path`` and audit the export (commits).

    Raises:
        PermissionDenied: without ``EXPORT_DATA``.
        ValidationError: when the file cannot be written.
    """
    authorize(actor, Permission.EXPORT_DATA)
    lines = export_lines(rows, timezone)
    now = clock.now()
    if fmt is ExportFormat.CSV:
        payload = _csv(lines)
    else:
        title = f"Outstanding results — {format_local(now, timezone)} — {actor.display_name}"
        payload = _pdf(lines, title)
    _write_private(path, payload)
    ids = ",".join(str(r.ordered_test_id) for r in outstanding(rows))
    record_audit(
        uow,
        clock,
        action=AuditAction.EXPORT,
        entity="results_board",
        entity_id="outstanding",
        actor=actor,
        station=station,
        detail=(
            f"format={fmt.value}; rows={len(lines)}; "
            f"ids_sha256={hashlib.sha256(ids.encode()).hexdigest()}"
        ),
    )
    uow.commit()
    return ExportSummary(path=path, rows=len(lines), format=fmt)


def export_board(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    query: BoardQuery,
    now_s: float,
    path: Path,
    fmt: ExportFormat,
    *,
    timezone: str,
    station: str = "",
) -> ExportSummary:
    """Export the outstanding tests the board's query matches, in its order (commits).

    ``now_s`` is the board's load time, so the file lists the rows (and flags) shown.

    Raises:
        PermissionDenied: without ``EXPORT_DATA`` or ``VIEW_RESULTS``.
        ValidationError: when the file cannot be written.
    """
    authorize(actor, Permission.EXPORT_DATA)
    rows = matching_rows(uow, actor, query, now_s)
    return export_outstanding(
        uow, clock, actor, outstanding(rows), path, fmt, timezone=timezone, station=station
    )


def _safe_cell(text: str) -> str:
    # A spreadsheet would run a cell starting like a formula (CSV injection).
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _csv(lines: list[tuple[str, ...]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(tuple(_safe_cell(cell) for cell in line) for line in lines)
    return buffer.getvalue().encode("utf-8")


def _font() -> str:
    for file in _FONT_FILES:
        if Path(file).exists():
            try:
                pdfmetrics.registerFont(TTFont("LabDeskSans", file))
            except TTFError:
                continue
            return "LabDeskSans"
    return "Helvetica"


def _pdf(lines: list[tuple[str, ...]], title: str) -> bytes:
    buffer = io.BytesIO()
    font = _font()
    styles = getSampleStyleSheet()
    styles["Title"].fontName = font
    cell = styles["BodyText"].clone("cell", fontName=font, fontSize=7, leading=8.5)
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(letter),
        leftMargin=0.4 * inch,
        rightMargin=0.4 * inch,
        topMargin=0.5 * inch,
        bottomMargin=0.5 * inch,
        title="Outstanding results",
        creator="LabDesk",
    )
    data = [[Paragraph(h, cell) for h in HEADERS]]
    data += [[Paragraph(_escape(text), cell) for text in line] for line in lines]
    widths = [0.8, 1.4, 1.6, 0.8, 1.9, 1.0, 1.2, 0.8, 0.8]
    table = Table(data, colWidths=[w * inch for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )

    def footer(canvas: object, document: object) -> None:
        canvas.setFont(font, 7)  # type: ignore[attr-defined]
        canvas.drawString(  # type: ignore[attr-defined]
            0.4 * inch,
            0.3 * inch,
            f"Confidential: patient information for follow-up only. Page {document.page}",  # type: ignore[attr-defined]
        )

    story = [Paragraph(_escape(title), styles["Title"]), Spacer(1, 6), table]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write_private(path: Path, payload: bytes) -> None:
    """Write ``payload`` owner-readable only, replacing ``path`` in one step.

    The new file is renamed over ``path``, so ``path`` must be a file name: renaming over
    a device such as ``/dev/null`` would replace the device itself.
    """
    if path.exists() and not path.is_file():
        raise ValidationError(
            f"Cannot write the export to {path}: it is not a file.",
            hint="Choose a file name, for example board.csv in your documents folder.",
        )
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(payload)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ValidationError(
            f"Cannot write {path}: {exc.strerror}.",
            hint="Choose a folder you can write to.",
        ) from exc


def default_file_name(fmt: ExportFormat, now: datetime, timezone: str) -> str:
    """``outstanding-YYYYMMDD-HHMM.csv`` in the clinic's time."""
    return f"outstanding-{format_local(now, timezone, '%Y%m%d-%H%M')}.{fmt.value}"
