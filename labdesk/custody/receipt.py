"""Lab receipt: scan the manifest, then its specimens; reconcile, reject, close.

Scanning a manifest twice resumes it. Scanning a specimen twice changes nothing. A
specimen that arrives without being on the manifest is received and listed as unexpected;
one that was never picked up is listed as a custody gap, without a custody event.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from labdesk.custody import views
from labdesk.custody.dto import ON_THE_WAY, Reconciliation, RejectionResult, ScanFeedback
from labdesk.custody.events import (
    Handoff,
    find_specimen,
    last_actor,
    open_recollection,
    record_event,
    when_text,
)
from labdesk.custody.stability import CAVEAT_PREFIX, receipt_caveat
from labdesk.domain.accession import validate_accession
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import CustodyError, InvalidAccession, NotFound, ValidationError
from labdesk.domain.loss import LossReason
from labdesk.domain.manifest import (
    Manifest,
    ManifestItem,
    ManifestStatus,
    ReceiptOutcome,
    is_manifest_number,
    parse_bag_id,
)
from labdesk.domain.permissions import Permission
from labdesk.domain.recollection import LOST_REASON_CODE, RejectionReason, reason_label
from labdesk.domain.scan_rules import ScanCode
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork

K = CustodyEventKind
NOT_SHIPPED = (
    SpecimenStatus.COLLECTED,
    SpecimenStatus.LABELLED,
    SpecimenStatus.VERIFIED,
    SpecimenStatus.PACKED,
)


def open_receipt(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, scanned: str
) -> Reconciliation:
    """Start (or resume) receiving the manifest whose barcode was scanned (commits).

    Raises:
        ValidationError: the scan is not a manifest barcode.
        NotFound: no such manifest.
        CustodyError: the courier has not finished the pickup yet.
    """
    authorize(actor, Permission.RECEIVE_SPECIMENS)
    text = scanned.strip()
    if not is_manifest_number(text):
        raise ValidationError(
            f"'{text[:20]}' is not a manifest barcode.",
            hint="Scan the barcode at the top of the courier's manifest first, then the tubes.",
        )
    manifest = _manifest(uow, text, lock=True)
    now = clock.now()
    tz = views.site_tz(uow, manifest.site_id)
    if manifest.status is ManifestStatus.OPEN:
        raise CustodyError(
            f"Manifest {text} is still open at {views.site_code(uow, manifest.site_id)}.",
            hint="The courier finishes the pickup (PIN) before the lab receives it.",
        )
    if manifest.status is ManifestStatus.IN_TRANSIT:
        manifest.status = ManifestStatus.RECEIVING
        manifest.receipt_started_at = now
        uow.commit()
        view = _reconciliation(uow, manifest)
        return _with(view, False, f"Manifest {text}: {len(view.expected)} specimen(s) expected.")
    view = _reconciliation(uow, manifest)
    if manifest.status is ManifestStatus.RECEIVING:
        scanned_count = sum(1 for r in view.expected if r.lab_outcome is not None)
        return _with(
            view,
            True,
            f"Manifest {text} was opened at {when_text(manifest.receipt_started_at, tz, now)}: "
            f"resuming ({scanned_count} of {len(view.expected)} scanned).",
        )
    closer = uow.people.user(manifest.received_by_id or 0)
    return _with(
        view,
        True,
        f"Manifest {text} was closed by {closer.display_name if closer else 'someone'} at "
        f"{when_text(manifest.received_at, tz, now)}; showing its reconciliation.",
    )


def receive_scan(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    number: str,
    scanned: str,
    *,
    damaged: bool = False,
) -> ScanFeedback:
    """Receive one scanned specimen against a manifest being received (commits).

    Raises:
        NotFound: unknown manifest.
        CustodyError: the manifest is not being received (not opened, or closed).
    """
    authorize(actor, Permission.RECEIVE_SPECIMENS)
    manifest = _manifest(uow, number)
    if manifest.status is not ManifestStatus.RECEIVING:
        raise CustodyError(
            f"Manifest {manifest.number} is {manifest.status.value.replace('_', ' ')}.",
            hint="Scan the manifest barcode to open it for receipt.",
        )
    text = scanned.strip()
    if parse_bag_id(text) is not None:
        return ScanFeedback(
            ScanCode.MALFORMED,
            f"{text} is a bag: the lab receives each specimen.",
            hint="Open the bag and scan each tube.",
        )
    if is_manifest_number(text):
        same = text == manifest.number
        return ScanFeedback(
            ScanCode.ALREADY_ON_MANIFEST if same else ScanCode.MALFORMED,
            f"Manifest {text} is {'already open' if same else 'another manifest'}.",
            hint="" if same else "Close this manifest before receiving another.",
        )
    try:
        accession = validate_accession(text)
    except InvalidAccession as exc:
        return ScanFeedback(ScanCode.MALFORMED, exc.message, hint=exc.hint)
    specimen = uow.custody_scan.lock_by_accession(accession)
    if specimen is None:
        return ScanFeedback(
            ScanCode.UNKNOWN_ID,
            f"No specimen {accession} in LabDesk.",
            hint="Check the label; set the tube aside and call the clinic.",
            accession=accession,
        )
    feedback = _receive(uow, clock, actor, manifest, specimen, damaged)
    uow.commit()
    return feedback


def _receive(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    manifest: Manifest,
    specimen: Specimen,
    damaged: bool,
) -> ScanFeedback:
    assert specimen.id is not None
    assert manifest.id is not None
    now = clock.now()
    tz = views.site_tz(uow, manifest.site_id)
    accession = specimen.accession
    item = uow.manifests.item(manifest.id, specimen.id)
    status = specimen.status
    if status is SpecimenStatus.RECEIVED:
        name, at = last_actor(uow, specimen.id, K.RECEIVED)
        return _info(
            ScanCode.ALREADY_RECEIVED,
            f"{accession} was already received by {name} at {when_text(at, tz, now)}.",
            specimen,
        )
    if status in (SpecimenStatus.REJECTED, SpecimenStatus.LOST):
        kind = K.REJECTED if status is SpecimenStatus.REJECTED else K.LOST
        name, at = last_actor(uow, specimen.id, kind)
        verb = "rejected" if kind is K.REJECTED else "reported lost"
        return _info(
            ScanCode.REJECTED if kind is K.REJECTED else ScanCode.LOST,
            f"{accession} was {verb} by {name} at {when_text(at, tz, now)}.",
            specimen,
            hint="Set it aside; a recollection is requested. Open its timeline for details.",
        )
    if status in NOT_SHIPPED:
        if item is None:
            item = _unexpected_item(uow, manifest, specimen, actor, now, ReceiptOutcome.UNEXPECTED)
        row = views.row_of(item, specimen, views.site_code(uow, specimen.site_id))
        return ScanFeedback(
            ScanCode.NOT_SHIPPED,
            f"{accession} was never picked up: custody says it is still "
            f"{status.value} at {views.site_code(uow, specimen.site_id)}.",
            hint="A gap in the chain of custody: set the tube aside and call the clinic.",
            accession=accession,
            rows=(row,),
            specimen_id=specimen.id,
        )
    caveat = receipt_caveat(uow, specimen, now)
    record_event(
        uow,
        clock,
        specimen,
        K.RECEIVED,
        Handoff(
            actor_id=actor.id,
            location=_lab_location(uow, manifest),
            temperature_class=specimen.temperature_class,
            seal_intact=not damaged,
            reason=caveat,
            note=f"Manifest {manifest.number}"
            + ("; damaged on arrival" if damaged else "")
            + ("; beyond stability" if caveat else ""),
        ),
    )
    outcome = ReceiptOutcome.DAMAGED if damaged else ReceiptOutcome.RECEIVED
    code = ScanCode.RECEIVED_DAMAGED if damaged else ScanCode.RECEIVED
    message = f"{accession} received" + (" damaged: reject it with a reason." if damaged else ".")
    if item is None:
        other = uow.manifests.latest_item_for(specimen.id)
        item = _unexpected_item(uow, manifest, specimen, actor, now, outcome)
        code = ScanCode.RECEIVED_UNEXPECTED
        travelled = f" (it travelled on manifest {other[1].number})" if other else ""
        message = f"{accession} received, but it is not on this manifest{travelled}."
    else:
        item.lab_outcome = outcome
        item.lab_scanned_at = now
        item.lab_scanned_by_id = actor.id
    hint = ""
    if caveat:
        details = caveat.removeprefix(CAVEAT_PREFIX).strip()
        if code is ScanCode.RECEIVED:
            code = ScanCode.BEYOND_STABILITY
            message = f"{accession} received, but it is beyond stability {details}."
        else:
            message += f" It is also beyond stability {details}."
        hint = (
            "Its results will carry this caveat; reject it (Beyond stability) if the test "
            "cannot be run."
        )
    row = views.row_of(item, specimen, views.site_code(uow, specimen.site_id), warning=caveat)
    return ScanFeedback(
        code, message, hint=hint, accession=accession, rows=(row,), specimen_id=specimen.id
    )


def reject_specimen(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    accession: str,
    reason: RejectionReason,
    *,
    note: str = "",
    location: str = "Lab receiving",
) -> RejectionResult:
    """Reject a specimen with a coded reason and open its recollection task (commits).

    Rejecting an already rejected specimen returns the earlier rejection.

    Raises:
        NotFound: unknown accession.
        CustodyError: the specimen has not left the clinic (or was lost).
    """
    authorize(actor, Permission.REJECT_SPECIMENS)
    specimen = find_specimen(uow, accession)
    assert specimen.id is not None
    if specimen.status is SpecimenStatus.REJECTED:
        found = uow.custody_scan.last_event(specimen.id, K.REJECTED)
        task = uow.recollections.for_specimen(specimen.id)
        earlier = found[0].reason if found else reason.value
        name = found[1] if found else "someone"
        tz = views.site_tz(uow, specimen.site_id)
        at = when_text(found[0].occurred_at if found else None, tz, clock.now())
        return RejectionResult(
            accession=specimen.accession,
            reason=earlier,
            task_id=task.id or 0 if task else 0,
            already=True,
            message=f"{specimen.accession} was already rejected by {name} at {at} "
            f"({reason_label(earlier)}).",
        )
    record_event(
        uow,
        clock,
        specimen,
        K.REJECTED,
        Handoff(
            actor_id=actor.id,
            location=location,
            temperature_class=specimen.temperature_class,
            reason=reason.value,
            note=note,
        ),
    )
    now = clock.now()
    latest = uow.manifests.latest_item_for(specimen.id)
    if latest is not None:
        item = latest[0]
        item.lab_outcome = ReceiptOutcome.REJECTED
        item.lab_scanned_at = item.lab_scanned_at or now
        item.lab_scanned_by_id = item.lab_scanned_by_id or actor.id
    task_id = open_recollection(uow, clock, actor, specimen, reason.value, note)
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="specimen",
        entity_id=specimen.id,
        actor=actor,
        detail=f"rejected {specimen.accession} at {location}: {reason.value}; "
        f"recollection task {task_id}",
    )
    uow.commit()
    return RejectionResult(
        accession=specimen.accession,
        reason=reason.value,
        task_id=task_id,
        already=False,
        message=f"{specimen.accession} rejected ({reason.label}); recollection requested.",
    )


def reconciliation(uow: UnitOfWork, actor: SignedInUser, number: str) -> Reconciliation:
    """Expected versus received for a manifest."""
    authorize(actor, Permission.RECEIVE_SPECIMENS)
    return _reconciliation(uow, _manifest(uow, number))


def close_receipt(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    number: str,
    *,
    report_missing_lost: bool = False,
    confirmed_missing: Collection[int] | None = None,
) -> Reconciliation:
    """Close a manifest's receipt (commits); closing twice returns the closed one.

    Missing specimens (on the manifest, still on their way, not scanned) must be confirmed:
    they are then reported lost and their recollection requested. A screen passes the
    specimen ids it asked about as ``confirmed_missing``: if the missing list changed since
    (a tube scanned in meanwhile, here or on another manifest), nothing is closed, so the
    confirmation, the list and the result always name the same tubes.

    Returns:
        The closed reconciliation; ``reported_lost`` names the tubes this close reported.

    Raises:
        CustodyError: specimens missing and not confirmed, the missing list changed since it
            was confirmed, or the manifest not being received.
    """
    authorize(actor, Permission.RECEIVE_SPECIMENS)
    manifest = _manifest(uow, number, lock=True)
    if manifest.status is ManifestStatus.RECEIVED:
        return _reconciliation(uow, manifest)
    if manifest.status is not ManifestStatus.RECEIVING:
        raise CustodyError(
            f"Manifest {number} is not being received.", hint="Scan its barcode first."
        )
    view = _reconciliation(uow, manifest)
    missing = view.missing
    listed = ", ".join(r.accession for r in missing[:10])
    if missing and not report_missing_lost:
        raise CustodyError(
            f"{len(missing)} specimen(s) on manifest {number} were not scanned: {listed}.",
            hint="Scan them, or confirm they are missing: they are then reported lost and "
            "recollected.",
        )
    if confirmed_missing is not None and set(confirmed_missing) != {r.specimen_id for r in missing}:
        raise CustodyError(
            f"The missing specimens of manifest {number} changed since you confirmed: "
            f"{len(missing)} are missing now{': ' + listed if missing else ''}.",
            hint="Check the refreshed list, then close the receipt again.",
        )
    lost = [_report_missing(uow, clock, actor, manifest, row.specimen_id) for row in missing]
    manifest.status = ManifestStatus.RECEIVED
    manifest.received_at = clock.now()
    manifest.received_by_id = actor.id
    closed = _reconciliation(uow, manifest)
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="manifest",
        entity_id=manifest.number,
        actor=actor,
        detail=f"receipt closed: {len(closed.received)} received, {len(closed.damaged)} "
        f"damaged, {len(closed.rejected)} rejected, {len(lost)} reported lost, "
        f"{len(closed.received_elsewhere)} received on other manifests, "
        f"{len(closed.unexpected)} unexpected",
    )
    uow.commit()
    return Reconciliation(
        number=closed.number, status=closed.status, rows=closed.rows, reported_lost=tuple(lost)
    )


def _report_missing(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, manifest: Manifest, specimen_id: int
) -> str:
    """Report one missing specimen lost, open its recollection, audit it; its accession.

    Raises:
        CustodyError: the specimen left transit since the list was read (rolls the close back).
    """
    specimen = uow.custody_scan.lock_specimen(specimen_id)
    if specimen is None or specimen.status not in ON_THE_WAY:
        raise CustodyError(
            f"A specimen of manifest {manifest.number} was scanned in while closing.",
            hint="Check the refreshed list, then close the receipt again.",
        )
    reason = f"Missing from manifest {manifest.number} at lab receipt"
    location = _lab_location(uow, manifest)
    code = LossReason.NOT_IN_BAG.value
    record_event(
        uow,
        clock,
        specimen,
        K.LOST,
        Handoff(actor_id=actor.id, location=location, reason=code, note=reason),
    )
    task_id = open_recollection(
        uow, clock, actor, specimen, LOST_REASON_CODE, reason, loss_reason=LossReason.NOT_IN_BAG
    )
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="specimen",
        entity_id=specimen_id,
        actor=actor,
        detail=f"reported {specimen.accession} lost: {reason.lower()}; recollection task {task_id}",
    )
    return specimen.accession


def _manifest(uow: UnitOfWork, number: str, *, lock: bool = False) -> Manifest:
    manifest = uow.manifests.by_number(number.strip(), lock=lock)
    if manifest is None:
        raise NotFound(
            f"No manifest {number.strip()}.",
            hint="Check the barcode on the courier's manifest and scan it again.",
        )
    return manifest


def _reconciliation(uow: UnitOfWork, manifest: Manifest) -> Reconciliation:
    rows = views.manifest_rows(uow, manifest, caveats=True)
    return Reconciliation(number=manifest.number, status=manifest.status, rows=rows)


def _with(view: Reconciliation, resumed: bool, message: str) -> Reconciliation:
    return Reconciliation(
        number=view.number, status=view.status, rows=view.rows, resumed=resumed, message=message
    )


def _info(code: ScanCode, message: str, specimen: Specimen, *, hint: str = "") -> ScanFeedback:
    return ScanFeedback(
        code, message, hint=hint, accession=specimen.accession, specimen_id=specimen.id
    )


def _unexpected_item(
    uow: UnitOfWork,
    manifest: Manifest,
    specimen: Specimen,
    actor: SignedInUser,
    now: datetime,
    outcome: ReceiptOutcome,
) -> ManifestItem:
    assert manifest.id is not None
    assert specimen.id is not None
    item = ManifestItem(
        manifest_id=manifest.id,
        specimen_id=specimen.id,
        temperature_class=specimen.temperature_class,
        scanned_at=now,
        scanned_by_id=actor.id,
        expected=False,
        lab_outcome=outcome,
        lab_scanned_at=now,
        lab_scanned_by_id=actor.id,
    )
    uow.manifests.add(item)
    uow.manifests.flush()
    return item


def _lab_location(uow: UnitOfWork, manifest: Manifest) -> str:
    if manifest.route_id is not None:
        route = uow.routes.get(manifest.route_id)
        if route is not None:
            return f"{views.site_code(uow, route.to_site_id)} receiving"
    return "Lab receiving"
