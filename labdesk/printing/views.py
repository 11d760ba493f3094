"""Reading the print queue and printers: job lists, previews, printer status, label export.

``actor=None`` means the command line (see :mod:`labdesk.printing.jobs`).
"""

from __future__ import annotations

from dataclasses import replace

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import LabdeskError, NotFound
from labdesk.domain.label_snapshot import LabelSnapshot
from labdesk.domain.permissions import Permission
from labdesk.domain.printing import LabelContent, PrintJobStatus
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import PrinterOpener, UnitOfWork, UowFactory
from labdesk.printing.dto import LabelPrinterState, PrinterCheck, PrintJobRow, PrintSetup
from labdesk.printing.label_content import find_specimen, label_content
from labdesk.printing.station_printers import label_printer_uri

LIST_LIMIT = 200


def check(actor: SignedInUser | None, permission: Permission) -> None:
    """Authorize a signed-in actor; the command line (None) is trusted."""
    if actor is not None:
        authorize(actor, permission)


def list_print_jobs(
    uow: UnitOfWork,
    actor: SignedInUser | None,
    *,
    station_code: str | None = None,
    limit: int = LIST_LIMIT,
) -> list[PrintJobRow]:
    """The newest print jobs (of one station, or all), newest first."""
    check(actor, Permission.PRINT_LABELS)
    return [
        PrintJobRow.of(job, accession)
        for job, accession in uow.print_queue.recent(station_code, limit)
    ]


def job_preview(
    uows: UowFactory, actor: SignedInUser | None, setup: PrintSetup, job_id: int
) -> bytes | None:
    """The PNG preview of a job's first label, rendered from its snapshot if not stored.

    Returns None for a job whose label cannot be rendered (it failed for that reason).

    Raises:
        PermissionDenied: if ``actor`` may not print labels.
        NotFound: if there is no such job.
    """
    check(actor, Permission.PRINT_LABELS)
    with uows() as uow:
        job = uow.print_queue.get(job_id)
        if job is None:
            raise NotFound(f"There is no print job {job_id}.", hint="Check the job number.")
        if job.preview_png is not None:
            return job.preview_png
        snapshot = LabelSnapshot.from_json(job.content_json)
        row = PrintJobRow.of(job, None)
    return with_preview(uows, setup, row, snapshot).preview_png


def label_for_export(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    station_code: str,
    accession: str,
) -> LabelContent:
    """A specimen's current label content, to render to a file (audited as an export).

    Raises:
        PermissionDenied: if ``actor`` may not print labels.
        InvalidAccession: for a malformed accession ID.
        NotFound: for an accession with no specimen.
    """
    check(actor, Permission.PRINT_LABELS)
    specimen = find_specimen(uow, accession)
    content = label_content(uow, specimen)
    record_audit(
        uow,
        clock,
        action=AuditAction.EXPORT,
        entity="specimen",
        entity_id=specimen.id or 0,
        user_id=actor.id if actor is not None else None,
        station=station_code,
        detail="label rendered to a file" + ("" if actor is not None else " (command line)"),
    )
    return content


def printer_status(opener: PrinterOpener, uri: str) -> PrinterCheck:
    """Ask a printer how it is; a bad address or no answer is reported as not ready."""
    if not uri.strip():
        return PrinterCheck(uri, False, "No printer configured")
    try:
        state = opener(uri).status()
    except LabdeskError as exc:
        return PrinterCheck(uri, False, exc.message)
    return PrinterCheck(uri, state.ready, state.summary)


def render_snapshot(
    setup: PrintSetup, snapshot: LabelSnapshot, language: str, *, preview: bool = True
) -> tuple[bytes, bytes | None]:
    """Render a snapshot's labels for ``language`` (``zpl`` or ``pdf``).

    Raises:
        LabdeskError: unknown preset, a label that does not fit.
    """
    rendered = setup.renderer.render(
        snapshot.labels,
        snapshot.preset,
        copies=snapshot.copies,
        language=language,
        preview=preview,
    )
    return rendered.payload, rendered.preview_png


def with_preview(
    uows: UowFactory,
    setup: PrintSetup,
    row: PrintJobRow,
    snapshot: LabelSnapshot,
    *,
    store: bool = True,
) -> PrintJobRow:
    """``row`` with the PNG preview of its first label, also stored on the job if ``store``."""
    first = LabelSnapshot(labels=snapshot.labels[:1], preset=snapshot.preset)
    try:
        _, preview = render_snapshot(setup, first, "zpl")
    except LabdeskError:  # the job failed to render: there is nothing to show
        return row
    if preview is None or not store:
        return replace(row, preview_png=preview)
    with uows() as uow:
        uow.print_queue.set_preview(row.id, preview)
        uow.commit()
    return replace(row, preview_png=preview)


def label_printer_state(uows: UowFactory, setup: PrintSetup) -> LabelPrinterState:
    """Ask this station's label printer how it is and count its queue (never raises for
    printer problems; a station without a printer is reported as not ready)."""
    with uows() as uow:
        uri = label_printer_uri(uow, setup)
        counts = uow.print_queue.count_by_status(setup.station_code)
    return LabelPrinterState(
        printer=printer_status(setup.opener, uri),
        queued=counts.get(PrintJobStatus.QUEUED, 0),
        unconfirmed=counts.get(PrintJobStatus.SENT, 0),
        failed=counts.get(PrintJobStatus.FAILED, 0),
    )
