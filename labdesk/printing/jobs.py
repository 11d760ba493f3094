"""Printing specimen labels: queue a job per container in a transaction, send it after.

Every print is a :class:`~labdesk.domain.printing.PrintJob` holding the exact bytes for
the printer and a JSON snapshot of the label content. A print is a command
(:mod:`labdesk.printing.commands`) in two halves, because nothing may go over the network
while a transaction is open:

* the handler's half (``queue_*``, :func:`resolve_unconfirmed`) runs in the bus's unit of
  work: it checks permission, creates the ``queued`` jobs and writes their audit, and the
  bus commits them with the command's idempotency key;
* the after-commit half (:func:`send_queued_labels`, the spooler's ``send_job``) sends them.

If the process dies between the two, the jobs stay queued and the spooler
(:func:`~labdesk.printing.spooler.process_due_jobs`) sends them on its next pass; a replay
of the command is refused by its key and queues nothing twice. Problems with the printer do
not raise: the job is kept (queued for retry, or failed with the reason) and the returned
row says so. Only errors where no job can exist raise (no permission, bad or unknown
accession, a reprint without a reason).

``actor=None`` means the command line, run by an administrator on the workstation without
a LabDesk sign-in: no permission check, and audit entries name no user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import LabdeskError, NotFound, ValidationError
from labdesk.domain.label_snapshot import LabelSnapshot
from labdesk.domain.order import OrderedTest
from labdesk.domain.permissions import Permission
from labdesk.domain.printing import LabelContent, PrintJob, PrintJobKind, PrintJobStatus
from labdesk.domain.specimen import Specimen
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork, UowFactory
from labdesk.printing.dto import PrintJobRow, PrintSetup
from labdesk.printing.label_content import (
    SpecimenMarks,
    find_specimens,
    label_content,
    printer_test_content,
    specimen_marks,
    with_aliquots,
)
from labdesk.printing.spooler import error_text, send_jobs
from labdesk.printing.station_printers import label_printer_uri
from labdesk.printing.views import check, render_snapshot, with_preview

MIN_REASON = 3
IN_FLIGHT = timedelta(minutes=2)
"""A job claimed this recently without an error may still be on its way to the printer."""


class NoPrinterConfigured(ValidationError):
    """This station has no label printer."""


@dataclass(frozen=True)
class QueuedLabels:
    """The label jobs one print queued in its transaction, for the send after the commit."""

    job_ids: tuple[int, ...] = ()
    """One job per container, in the order the labels were asked for."""
    first: LabelSnapshot | None = None
    """The first job's labels: the screen's preview is rendered from them once sent."""


def queue_specimen_labels(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    accessions: Sequence[str],
    *,
    printer_uri: str | None = None,
) -> QueuedLabels:
    """Queue the labels of one or more specimens, one job per container (the caller commits).

    Each container gets ``setup.labels.copies_for(container)`` labels: its primary label
    and aliquot labels. All accessions are checked before any job is created. A job that
    cannot print (no printer, a label that does not fit) is created failed, saying why.

    Raises:
        PermissionDenied: if ``actor`` may not print labels.
        InvalidAccession: for a malformed accession ID.
        NotFound: for an accession with no specimen.
    """
    check(actor, Permission.PRINT_LABELS)
    specimens = find_specimens(uow, accessions)
    uri = printer_uri.strip() if printer_uri else label_printer_uri(uow, setup)
    tests = uow.print_queue.label_tests([s.id for s in specimens if s.id is not None])
    loaded = _preload(uow, specimens, tests)  # noqa: F841 - kept alive for the identity map
    marks = specimen_marks(uow, [s.id for s in specimens if s.id is not None])
    queued = [
        _specimen_job(uow, clock, actor, setup, s, uri, tests.get(s.id or 0, []), marks)
        for s in specimens
    ]
    for job, _ in queued:
        uow.print_queue.add(job)
    uow.print_queue.flush()
    _audit_prints(uow, clock, actor, setup, specimens, queued)
    return QueuedLabels(
        job_ids=tuple(_id(job) for job, _ in queued),
        first=queued[0][1] if queued else None,
    )


def record_offline_specimen_labels(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    accessions: Sequence[str],
    printer_uri: str,
    station_code: str,
) -> int:
    """Record labels a station printed by accession while the server was away (replay).

    They went to the station's printer then; the server audits each patient's labels at
    that time (``clock`` reads the offline time on replay) and never prints them again.
    Returns how many specimens were recorded (the caller commits).

    Raises:
        PermissionDenied: if ``actor`` may not print labels.
        NotFound: for an accession the server has no specimen for (kept for reconciliation).
    """
    check(actor, Permission.PRINT_LABELS)
    specimens = find_specimens(uow, accessions)
    by_patient: dict[int, list[str]] = {}
    for specimen in specimens:
        by_patient.setdefault(specimen.patient_id, []).append(f"specimen {specimen.id}")
    where = printer_uri or "the station printer"
    for patient_id, items in by_patient.items():
        record_audit(
            uow,
            clock,
            action=AuditAction.PRINT,
            entity="patient",
            entity_id=patient_id,
            user_id=actor.id if actor is not None else None,
            station=station_code,
            detail=f"label {', '.join(items)} printed offline on {where}",
        )
    return len(specimens)


def send_queued_labels(
    uows: UowFactory, clock: Clock, setup: PrintSetup, queued: QueuedLabels
) -> list[PrintJobRow]:
    """Send the committed jobs of one print in order; their rows, the first with its preview.

    Runs after the commit, each job claimed and recorded in a transaction of its own
    (:func:`~labdesk.printing.spooler.send_jobs`).
    """
    rows = send_jobs(uows, clock, setup.opener, queued.job_ids)
    # The screen shows the first label: render its preview once the bytes are out (not
    # stored; job_preview renders any job's on demand).
    if rows and rows[0].preview_png is None and queued.first is not None:
        rows[0] = with_preview(uows, setup, rows[0], queued.first, store=False)
    return rows


def queue_reprint(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    job_id: int,
    reason: str,
    *,
    printer_uri: str | None = None,
) -> int:
    """Queue a reprint of a label job from its stored snapshot, marked ``REPRINT n``.

    The labels say exactly what the original said, even if the patient record changed
    since; they are laid out on this station's current label stock. The caller commits,
    then sends the returned job.

    Returns:
        The new job's id.

    Raises:
        PermissionDenied: if ``actor`` may not reprint labels.
        ValidationError: no reason given, not a label job, or the original still queued.
        NotFound: if there is no such job.
    """
    check(actor, Permission.REPRINT_LABELS)
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise ValidationError(
            "A reprint needs a reason.",
            hint="Say why the label is printed again (e.g. label damaged, tube relabelled).",
        )
    root = _reprintable(uow, job_id)
    assert root.id is not None
    count = uow.print_queue.reprints_of(root.id) + 1
    original = LabelSnapshot.from_json(root.content_json)
    snapshot = LabelSnapshot(labels=original.as_reprint(count).labels, preset=setup.labels.preset)
    job = _new_job(clock, actor, setup, snapshot, PrintJobKind.LABEL, printer_uri, uow)
    job.specimen_id = root.specimen_id
    job.reprint_of_id = root.id
    job.reprint_reason = reason[:200]
    uow.print_queue.add(job)
    uow.print_queue.flush()
    _audit(
        uow,
        clock,
        actor,
        setup,
        job,
        f"reprint {count} of label job {root.id} as job {job.id}; reason: {reason}",
    )
    return _id(job)


def queue_test_label(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    *,
    printer_uri: str | None = None,
) -> int:
    """Queue a test label (a fake accession that scans, no patient); the caller commits.

    Sent right after the commit; a test job that finds the printer offline fails at once
    instead of waiting to print hours later (the spooler never retries one).

    Returns:
        The new job's id.
    """
    check(actor, Permission.PRINT_LABELS)
    content = printer_test_content(clock.now(), setup.timezone)
    snapshot = LabelSnapshot(labels=(content,), preset=setup.labels.preset)
    job = _new_job(clock, actor, setup, snapshot, PrintJobKind.TEST, printer_uri, uow)
    uow.print_queue.add(job)
    uow.print_queue.flush()
    _audit(uow, clock, actor, setup, job, f"test label job {job.id}")
    return _id(job)


def resolve_unconfirmed(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    job_id: int,
    *,
    printed: bool,
) -> None:
    """Record what a person found for an unconfirmed job: it printed (done) or not (failed).

    A label that did not print is then printed again with a reprint, which needs a reason.
    The caller commits; nothing is sent.

    Raises:
        PermissionDenied: if ``actor`` may not print labels.
        ValidationError: if the job is not unconfirmed.
        NotFound: if there is no such job.
    """
    check(actor, Permission.PRINT_LABELS)
    job = uow.print_queue.get(job_id)
    if job is None:
        raise NotFound(f"There is no print job {job_id}.", hint="Check the job number.")
    if job.status is not PrintJobStatus.SENT:
        raise ValidationError(
            f"Print job {job_id} is {job.status.value}, not unconfirmed.",
            hint="Only a job whose printing could not be confirmed needs checking.",
        )
    in_flight = job.sent_at is not None and clock.now() - job.sent_at < IN_FLIGHT
    if in_flight and not job.last_error:
        raise ValidationError(
            f"Print job {job_id} is being sent right now.",
            hint="Wait a minute and refresh the queue.",
        )
    status = PrintJobStatus.DONE if printed else PrintJobStatus.FAILED
    note = "checked: printed" if printed else "checked: did not print"
    uow.print_queue.finish(job_id, status, last_error=f"{note.capitalize()}. {job.last_error}")
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="print_job",
        entity_id=job_id,
        user_id=actor.id if actor is not None else None,
        station=setup.station_code,
        detail=f"unconfirmed job {note}",
    )


# ---------------------------------------------------------------- internals


def _id(job: PrintJob) -> int:
    """A flushed job's id."""
    assert job.id is not None
    return job.id


def _preload(
    uow: UnitOfWork, specimens: Sequence[Specimen], tests: dict[int, list[OrderedTest]]
) -> list[object]:
    """Load what the labels of several specimens share, a query per kind instead of per label.

    The session's identity map holds objects weakly: the caller keeps the returned list
    alive while it builds the labels, so their lookups by key need no SQL.
    """
    if len(specimens) < 2:
        return []
    order_ids = {t.order_id for carried in tests.values() for t in carried}
    return [
        *uow.catalog.containers(),
        *uow.catalog.tests(),
        *(uow.patients.get(i) for i in {s.patient_id for s in specimens}),
        *(uow.people.site(i) for i in {s.site_id for s in specimens}),
        *(uow.people.user(i) for i in {s.collected_by_id for s in specimens}),
        *(uow.orders.get(i) for i in order_ids),
    ]


def _specimen_job(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    specimen: Specimen,
    uri: str,
    tests: Sequence[OrderedTest],
    marks: SpecimenMarks,
) -> tuple[PrintJob, LabelSnapshot]:
    """A job (not yet added) with the specimen's primary and aliquot labels."""
    content = label_content(uow, specimen, tests, marks)
    labels: list[LabelContent] = with_aliquots(
        content, setup.labels.copies_for(specimen.container_code)
    )
    snapshot = LabelSnapshot(labels=tuple(labels), preset=setup.labels.preset)
    job = _new_job(clock, actor, setup, snapshot, PrintJobKind.LABEL, uri, uow, preview=False)
    job.specimen_id = specimen.id
    return job, snapshot


def _audit_prints(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    specimens: Sequence[Specimen],
    queued: Sequence[tuple[PrintJob, LabelSnapshot]],
) -> None:
    """One audit entry per patient whose labels were printed (record ids only)."""
    by_patient: dict[int, list[str]] = {}
    for specimen, (job, snapshot) in zip(specimens, queued, strict=True):
        by_patient.setdefault(specimen.patient_id, []).append(
            f"job {job.id} specimen {specimen.id} ({len(snapshot.labels)})"
        )
    for patient_id, items in by_patient.items():
        detail = "label " + ", ".join(items)
        record_audit(
            uow,
            clock,
            action=AuditAction.PRINT,
            entity="patient",
            entity_id=patient_id,
            user_id=actor.id if actor is not None else None,
            station=setup.station_code,
            detail=detail if actor is not None else f"{detail} (command line)",
        )


def _new_job(
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    snapshot: LabelSnapshot,
    kind: PrintJobKind,
    printer_uri: str | None,
    uow: UnitOfWork,
    *,
    preview: bool = True,
) -> PrintJob:
    """A queued job with its payload, or a failed one saying why it cannot print.

    ``preview=False`` renders a preview only for printers that keep one with each job.
    """
    uri = printer_uri.strip() if printer_uri else label_printer_uri(uow, setup)
    job = PrintJob(
        kind=kind,
        printer_uri=uri,
        station_code=setup.station_code,
        created_at=clock.now(),
        content_json=snapshot.to_json(),
        requested_by_id=actor.id if actor is not None else None,
    )
    try:
        if not uri:
            raise NoPrinterConfigured(
                f"Station {setup.station_code} has no label printer.",
                hint="Set one on the Admin page (Printers), or set LABDESK_LABEL_PRINTER.",
            )
        printer = setup.opener(uri)
        wanted = preview or bool(getattr(printer, "wants_preview", False))
        job.payload, job.preview_png = render_snapshot(
            setup, snapshot, printer.language, preview=wanted
        )
    except LabdeskError as exc:
        job.status = PrintJobStatus.FAILED
        job.last_error = error_text(exc)[:400]
    return job


def _reprintable(uow: UnitOfWork, job_id: int) -> PrintJob:
    """The original job of ``job_id``'s reprint chain, checked for a reprint."""
    job = uow.print_queue.get(job_id)
    if job is None:
        raise NotFound(f"There is no print job {job_id}.", hint="Check the job number.")
    if job.kind is not PrintJobKind.LABEL or job.specimen_id is None:
        raise ValidationError(
            f"Print job {job_id} is not a specimen label.",
            hint="Print a new test label instead.",
        )
    if job.status is PrintJobStatus.QUEUED:
        raise ValidationError(
            f"Label job {job_id} has not printed yet: it is waiting for the printer.",
            hint="It prints as soon as the printer answers; reprint only a label that "
            "printed and was lost or damaged.",
        )
    root = uow.print_queue.get(job.reprint_of_id) if job.reprint_of_id is not None else job
    if root is None:
        raise NotFound(f"The original of print job {job_id} is missing.")
    return root


def _audit(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    job: PrintJob,
    detail: str,
) -> None:
    entity, entity_id = ("specimen", job.specimen_id) if job.specimen_id else ("print_job", job.id)
    record_audit(
        uow,
        clock,
        action=AuditAction.PRINT,
        entity=entity,
        entity_id=entity_id or 0,
        user_id=actor.id if actor is not None else None,
        station=setup.station_code,
        detail=detail if actor is not None else f"{detail} (command line)",
    )
