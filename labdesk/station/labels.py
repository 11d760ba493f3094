"""Labels at the chair and scan-back: one patient's tubes only, each ticked off by its scan.

Printing goes through the print queue (:mod:`labdesk.printing.jobs`), one job per
container, for the specimens of this encounter only: never a multi-patient batch. It is a
command in two halves (:mod:`labdesk.station.commands`): in the bus's transaction the
labels are planned and the jobs queued (:func:`queue_encounter_labels`,
:func:`resolve_unconfirmed_labels`); after the commit :func:`send_encounter_labels` sends
them and records each tube whose job printed as LABELLED. If the process dies in between,
the spooler sends the queued jobs, and the next Print records the tubes labelled without
printing them again.

Printing is idempotent: pressing Print again sends only what has not printed (a job
waiting for an offline printer is retried, a failed one is printed anew, an unconfirmed one
is left for the MA to check).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from labdesk.custody.events import Handoff, record_event
from labdesk.domain.accession import validate_accession
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.encounter import AlarmKind, Encounter, ScanAlarm
from labdesk.domain.errors import InvalidAccession, NotFound, ValidationError
from labdesk.domain.permissions import Permission
from labdesk.domain.printing import PrintJobStatus
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork, UowFactory
from labdesk.printing.dto import PrintJobRow, PrintSetup
from labdesk.printing.jobs import (
    QueuedLabels,
    queue_reprint,
    queue_specimen_labels,
    resolve_unconfirmed,
    send_queued_labels,
)
from labdesk.printing.spooler import job_rows, send_job
from labdesk.station.dto import (
    AlarmRow,
    PrintedLabel,
    PrintOutcome,
    ScanOutcome,
    ScanResult,
)
from labdesk.station.encounter import encounter_of, require_identified
from labdesk.station.patients import lookup_by_scan

_MAYBE_PRINTED = (PrintJobStatus.DONE, PrintJobStatus.SENT)
UNCONFIRMED_REPRINT_REASON = "unconfirmed print: label missing or partial on the tube"


@dataclass(frozen=True)
class EncounterLabels:
    """What a print at the chair committed, for :func:`send_encounter_labels` after it.

    Every tube of the action is in ``labels`` with its latest job; the jobs to send are in
    ``fresh`` (created now, sent first, the screen's preview from the first) and ``queued``
    (waiting for the printer, or reprints, each sent next); the others are only read.
    """

    encounter_id: int
    labels: tuple[tuple[int, str, int], ...]
    """(specimen id, accession, job id) of each tube, in the order shown."""
    fresh: QueuedLabels = field(default_factory=QueuedLabels)
    queued: tuple[int, ...] = ()
    with_preview: bool = True
    """Whether the jobs only read are read with their stored previews."""


def queue_encounter_labels(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    setup: PrintSetup,
    encounter_id: int,
    specimen_ids: Sequence[int] | None = None,
) -> EncounterLabels:
    """Queue the labels of this encounter's collected containers that have not printed.

    Runs in the command's transaction: a container with no job, or only a failed one, gets
    a new job; one waiting for the printer is sent again after the commit; one that printed
    or is unconfirmed is shown as it stands.

    Raises:
        PermissionDenied: if the actor may not print labels.
        ValidationError: identifiers not confirmed, nothing to print, or a specimen that is
            not part of this patient's collection.
    """
    authorize(actor, Permission.PRINT_LABELS)
    encounter = encounter_of(uow, encounter_id)
    require_identified(encounter)
    targets = _targets(uow, encounter, specimen_ids)
    jobs = uow.station.latest_label_jobs([s.id for s in targets if s.id is not None])
    plan = [(s.id or 0, s.accession, jobs.get(s.id or 0)) for s in targets]
    fresh = [acc for _, acc, job in plan if job is None or job[1] is PrintJobStatus.FAILED]
    queued = queue_specimen_labels(uow, clock, actor, setup, fresh) if fresh else QueuedLabels()
    new_jobs = dict(zip(fresh, queued.job_ids, strict=True))
    labels: list[tuple[int, str, int]] = []
    waiting: list[int] = []
    for specimen_id, accession, job in plan:
        if accession in new_jobs:
            labels.append((specimen_id, accession, new_jobs[accession]))
            continue
        assert job is not None  # a tube without a job is in ``fresh``
        labels.append((specimen_id, accession, job[0]))
        if job[1] is PrintJobStatus.QUEUED:
            waiting.append(job[0])
    return EncounterLabels(encounter_id, tuple(labels), fresh=queued, queued=tuple(waiting))


def resolve_unconfirmed_labels(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    setup: PrintSetup,
    encounter_id: int,
    *,
    printed: bool,
) -> EncounterLabels:
    """Record what the MA found on the tubes whose labels are unconfirmed.

    ``printed=True``: the label is on the tube and good, so the job is marked printed (the
    tube is recorded labelled after the commit). ``printed=False``: it is missing or
    partial, so the job is closed as not printed and a reprint queued (marked
    ``REPRINT n``, as any label that may exist twice), sent after the commit. A tube already
    scanned back is not touched: its label was proven by the scan. All of the visit's
    unconfirmed jobs are resolved in the command's one transaction, or none.

    Raises:
        PermissionDenied: if the actor may not print (or, to reprint, reprint) labels.
        ValidationError: identifiers not confirmed, or no label of this visit is unconfirmed.
    """
    authorize(actor, Permission.PRINT_LABELS)
    if not printed:
        authorize(actor, Permission.REPRINT_LABELS)
    encounter = encounter_of(uow, encounter_id)
    require_identified(encounter)
    assert encounter.id is not None
    own = [
        s
        for s in uow.station.specimens(encounter.id)
        if s.patient_id == encounter.patient_id and s.status is SpecimenStatus.COLLECTED
    ]
    jobs = uow.station.latest_label_jobs([s.id for s in own if s.id is not None])
    plan = [
        (s.id or 0, s.accession, jobs[s.id or 0][0])
        for s in own
        if jobs.get(s.id or 0, (0, None))[1] is PrintJobStatus.SENT
    ]
    if not plan:
        raise ValidationError(
            "No label of this visit is waiting to be checked.",
            hint="Press Print for labels that have not printed.",
        )
    for _, _, job_id in plan:
        resolve_unconfirmed(uow, clock, actor, setup, job_id, printed=printed)
    if printed:
        return EncounterLabels(encounter_id, tuple(plan), with_preview=False)
    reprints = tuple(
        (sid, acc, queue_reprint(uow, clock, actor, setup, job_id, UNCONFIRMED_REPRINT_REASON))
        for sid, acc, job_id in plan
    )
    return EncounterLabels(encounter_id, reprints, queued=tuple(j for _, _, j in reprints))


def send_encounter_labels(
    uows: UowFactory,
    clock: Clock,
    actor: SignedInUser,
    setup: PrintSetup,
    labels: EncounterLabels,
) -> PrintOutcome:
    """After the commit: send the queued jobs, record the printed tubes LABELLED, report.

    Each job is claimed and its outcome recorded in a transaction of its own (the spooler);
    the LABELLED custody steps are committed together once the jobs are out.
    """
    rows: dict[int, PrintJobRow] = {}
    if labels.fresh.job_ids:
        rows.update((row.id, row) for row in send_queued_labels(uows, clock, setup, labels.fresh))
    for job_id in labels.queued:
        rows[job_id] = send_job(uows, clock, setup.opener, job_id)
    others = [job_id for _, _, job_id in labels.labels if job_id not in rows]
    rows.update((row.id, row) for row in job_rows(uows, others, with_preview=labels.with_preview))
    by_specimen = {specimen_id: rows[job_id] for specimen_id, _, job_id in labels.labels}
    done = [specimen_id for specimen_id, row in by_specimen.items() if row.printed]
    _record_labelled(uows, clock, actor, labels.encounter_id, done)
    return _outcome([(sid, acc) for sid, acc, _ in labels.labels], by_specimen)


def _outcome(plan: Sequence[tuple[int | None, str]], rows: dict[int, PrintJobRow]) -> PrintOutcome:
    labels = tuple(
        PrintedLabel(
            specimen_id=sid,
            accession=acc,
            job_id=rows[sid].id,
            printed=rows[sid].printed,
            status=rows[sid].status.value,
            message=_job_message(rows[sid]),
        )
        for sid, acc in plan
        if sid is not None and sid in rows
    )
    preview = next((r.preview_png for r in rows.values() if r.preview_png), None)
    return PrintOutcome(labels=labels, preview_png=preview)


def _targets(
    uow: UnitOfWork, encounter: Encounter, specimen_ids: Sequence[int] | None
) -> list[Specimen]:
    assert encounter.id is not None
    own = [s for s in uow.station.specimens(encounter.id) if s.patient_id == encounter.patient_id]
    if specimen_ids is not None:
        known = {s.id for s in own}
        if not set(specimen_ids) <= known:
            raise ValidationError(
                "A label was requested for a specimen that is not part of this patient's "
                "collection.",
                hint="Labels print for the patient in the chair only.",
            )
        own = [s for s in own if s.id in set(specimen_ids)]
    targets = [s for s in own if s.status is SpecimenStatus.COLLECTED]
    if not targets:
        raise ValidationError(
            "Every label of this visit has already printed.",
            hint="To replace a damaged label, use Reprint and give a reason.",
        )
    return targets


def _job_message(row: PrintJobRow) -> str:
    if row.printed:
        return ""
    if row.status is PrintJobStatus.QUEUED:
        return f"Waiting for the printer: {row.last_error}".strip()
    if row.status is PrintJobStatus.SENT:
        return row.last_error or "Sent, not confirmed: check the printer."
    return row.last_error or "The label did not print."


def _record_labelled(
    uows: UowFactory,
    clock: Clock,
    actor: SignedInUser,
    encounter_id: int,
    specimen_ids: Sequence[int],
) -> None:
    """Record the tubes whose label printed as LABELLED, in a transaction of their own.

    A tube no longer merely collected (labelled by a racing Print, or scanned back) is
    skipped, so the step is safe to repeat.
    """
    if not specimen_ids:
        return
    with uows() as uow:
        encounter = encounter_of(uow, encounter_id)
        for specimen_id in specimen_ids:
            specimen = uow.specimens.get(specimen_id)
            if specimen is not None and specimen.status is SpecimenStatus.COLLECTED:
                _event(uow, clock, actor, encounter, specimen, CustodyEventKind.LABELLED)
        uow.commit()


def record_offline_labels(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter_id: int,
    specimen_ids: Sequence[int],
    printer_uri: str,
) -> int:
    """Record labels a station printed at the chair while the server was away (replay).

    The labels went to the station's printer then; the server records the tubes LABELLED
    at that time (``clock`` reads the offline time on replay), notes where they printed,
    and never prints them again. A tube no longer merely collected is skipped. Returns
    how many tubes were recorded.
    """
    authorize(actor, Permission.PRINT_LABELS)
    encounter = encounter_of(uow, encounter_id)
    recorded = 0
    for specimen_id in specimen_ids:
        specimen = uow.specimens.get(specimen_id)
        if specimen is None or specimen.patient_id != encounter.patient_id:
            raise ValidationError(
                f"Specimen {specimen_id} is not part of this visit's collection.",
                hint="Resolve it in the Downtime reconciliation worklist.",
            )
        if specimen.status is SpecimenStatus.COLLECTED:
            note = f"label printed offline on {printer_uri}"
            _event(uow, clock, actor, encounter, specimen, CustodyEventKind.LABELLED, note)
            recorded += 1
    return recorded


def _event(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter: Encounter,
    specimen: Specimen,
    kind: CustodyEventKind,
    note: str = "",
) -> None:
    site = uow.people.site(encounter.site_id)
    record_event(
        uow,
        clock,
        specimen,
        kind,
        Handoff(
            actor_id=actor.id,
            location=f"{site.code if site else encounter.site_id} / {encounter.station_code}",
            temperature_class=specimen.temperature_class,
            note=note,
        ),
    )


def scan_back(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, encounter_id: int, scanned: str
) -> ScanOutcome:
    """Tick off a labelled tube of this patient by its scan, or raise an alarm; commits.

    A repeated scan is a friendly no-op. Another patient's tube, an unknown accession or a
    malformed scan raises an alarm that blocks finishing the visit until it is resolved.

    Raises:
        ValidationError: identifiers not confirmed or the visit is closed.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = encounter_of(uow, encounter_id)
    require_identified(encounter)
    assert encounter.id is not None
    try:
        accession = validate_accession(scanned)
    except InvalidAccession as exc:
        return _not_an_accession(uow, clock, actor, encounter, scanned, exc)
    specimen = uow.specimens.by_accession(accession)
    if specimen is None:
        return _alarm(
            uow, clock, actor, encounter, AlarmKind.UNKNOWN_LABEL, accession,
            f"No specimen has the label {accession}.",
        )  # fmt: skip
    if specimen.patient_id != encounter.patient_id:
        return _alarm(
            uow, clock, actor, encounter, AlarmKind.WRONG_PATIENT, accession,
            f"WRONG PATIENT: tube {accession} belongs to another patient. Set it aside.",
        )  # fmt: skip
    detail = uow.station.detail(specimen.id or 0)
    if detail is None or detail.encounter_id != encounter.id:
        return _alarm(
            uow, clock, actor, encounter, AlarmKind.NOT_IN_ENCOUNTER, accession,
            f"Tube {accession} is this patient's but from another visit.",
        )  # fmt: skip
    return _tick(uow, clock, actor, encounter, specimen)


def _tick(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, encounter: Encounter, specimen: Specimen
) -> ScanOutcome:
    assert specimen.id is not None
    if specimen.status not in (SpecimenStatus.COLLECTED, SpecimenStatus.LABELLED):
        return ScanOutcome(
            ScanResult.DUPLICATE,
            f"Tube {specimen.accession} was already scanned.",
            specimen_id=specimen.id,
            remaining=_remaining(uow, encounter),
        )
    if specimen.status is SpecimenStatus.COLLECTED:
        job = uow.station.latest_label_jobs([specimen.id]).get(specimen.id)
        if job is None or job[1] not in _MAYBE_PRINTED:
            return ScanOutcome(
                ScanResult.NOT_LABELLED,
                f"The label of tube {specimen.accession} has not printed yet.",
                specimen_id=specimen.id,
                remaining=_remaining(uow, encounter),
            )
        # The label in hand proves the job printed (it was unconfirmed or not yet recorded).
        _event(uow, clock, actor, encounter, specimen, CustodyEventKind.LABELLED,
               "label confirmed by scan-back")  # fmt: skip
    _event(uow, clock, actor, encounter, specimen, CustodyEventKind.VERIFIED)
    uow.commit()
    remaining = _remaining(uow, encounter)
    done = " All tubes scanned." if remaining == 0 else f" {remaining} to go."
    return ScanOutcome(
        ScanResult.TICKED,
        f"Tube {specimen.accession} matches this patient.{done}",
        specimen_id=specimen.id,
        remaining=remaining,
    )


def _remaining(uow: UnitOfWork, encounter: Encounter) -> int:
    assert encounter.id is not None
    waiting = (SpecimenStatus.COLLECTED, SpecimenStatus.LABELLED)
    return sum(1 for s in uow.station.specimens(encounter.id) if s.status in waiting)


def _not_an_accession(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter: Encounter,
    scanned: str,
    error: InvalidAccession,
) -> ScanOutcome:
    try:
        patient = lookup_by_scan(uow, scanned)
    except NotFound:
        return _alarm(
            uow, clock, actor, encounter, AlarmKind.MALFORMED, scanned.strip(),
            f"Not a specimen label: {error.message}",
        )  # fmt: skip
    if patient.id == encounter.patient_id:
        return ScanOutcome(
            ScanResult.NOT_LABELLED,
            "That is this patient's wristband: scan the tube labels.",
            remaining=_remaining(uow, encounter),
        )
    return _alarm(
        uow, clock, actor, encounter, AlarmKind.WRONG_PATIENT, scanned.strip(),
        "WRONG PATIENT: that wristband belongs to another patient.",
    )  # fmt: skip


def _alarm(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter: Encounter,
    kind: AlarmKind,
    scanned: str,
    message: str,
) -> ScanOutcome:
    assert encounter.id is not None
    alarm = ScanAlarm(
        encounter_id=encounter.id,
        kind=kind,
        scanned=scanned[:64],
        message=message[:400],
        raised_at=clock.now(),
        raised_by_id=actor.id,
    )
    uow.station.add_alarm(alarm)
    uow.station.flush()
    assert alarm.id is not None
    record_audit(
        uow,
        clock,
        action=AuditAction.VIEW,
        entity="scan_alarm",
        entity_id=alarm.id,
        actor=actor,
        station=encounter.station_code,
        detail=f"scan-back alarm {kind.value} in encounter {encounter.id}",
        outcome="alarm",
    )
    uow.commit()
    row = AlarmRow(alarm.id, kind, alarm.scanned, alarm.message, alarm.raised_at, True)
    return ScanOutcome(
        ScanResult.ALARM,
        message + " Resolve the alarm before finishing.",
        alarm=row,
        remaining=_remaining(uow, encounter),
    )
