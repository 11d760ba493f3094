"""Courier pickup: start a manifest at a site, scan specimens and bags, finish with a PIN.

A scan never raises for what it finds: it returns :class:`ScanFeedback` (added, already on
this manifest, refused and why), so the screen can answer in colour at once. It raises only
for the manifest itself (unknown, not open, someone else's) and for storage failures, in
which case the transaction rolls back and the same scan can simply be repeated.
"""

from __future__ import annotations

from labdesk.access.auth import Confirmation
from labdesk.access.signoff import reauthenticate
from labdesk.custody import views
from labdesk.custody.dto import (
    ManifestRow,
    ManifestView,
    PickupSite,
    ReadySpecimen,
    ScanFeedback,
)
from labdesk.custody.events import Handoff, record_event
from labdesk.custody.feedback import refusal_feedback, stability_words
from labdesk.domain.accession import validate_accession
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.errors import CustodyError, InvalidAccession, NotFound, ValidationError
from labdesk.domain.manifest import (
    BagId,
    Manifest,
    ManifestItem,
    ManifestStatus,
    is_manifest_number,
    make_manifest_number,
    parse_bag_id,
)
from labdesk.domain.people import Role
from labdesk.domain.permissions import Permission
from labdesk.domain.scan_rules import (
    ScanCode,
    pickup_refusal,
    stability_code,
    stability_deadline,
    stability_limit,
)
from labdesk.domain.signin_policy import SignInOutcome
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork

K = CustodyEventKind
READY_FOR_PICKUP = (SpecimenStatus.VERIFIED, SpecimenStatus.PACKED)


def pickup_sites(uow: UnitOfWork, actor: SignedInUser) -> list[PickupSite]:
    """Sites a courier can pick up at (not labs), with their routes."""
    authorize(actor, Permission.PICK_UP_SPECIMENS)
    return [
        PickupSite(
            code=site.code,
            name=site.name,
            routes=tuple(views.route_info(uow, r) for r in uow.routes.from_site(site.id or 0)),
        )
        for site in uow.people.sites()
        if not site.is_lab
    ]


def start_pickup(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    site_code: str,
    *,
    route_code: str | None = None,
    station_code: str = "",
) -> ManifestView:
    """Open a manifest for the courier at a site, or resume the one still open there (commits).

    Raises:
        NotFound: unknown site or route.
        ValidationError: a lab site, or a route that does not leave this site.
    """
    authorize(actor, Permission.PICK_UP_SPECIMENS)
    site = uow.people.site_by_code(site_code.strip().upper())
    if site is None or site.id is None:
        raise NotFound(f"No site '{site_code}'.", hint="Choose the site you are at from the list.")
    if site.is_lab:
        raise ValidationError(
            f"{site.code} is a lab: pickups start at a clinic.", hint="Choose a clinic site."
        )
    existing = uow.manifests.open_for(actor.id, site.id)
    if existing is not None:
        return views.manifest_view(uow, existing, include_ready=True)
    route_id = None
    routes = uow.routes.from_site(site.id)
    if route_code:
        route = uow.routes.by_code(route_code)
        if route is None or route.from_site_id != site.id:
            raise ValidationError(
                f"Route '{route_code}' does not leave {site.code}.",
                hint="Choose one of the site's routes.",
            )
        route_id = route.id
    elif routes:
        route_id = routes[0].id
    now = clock.now()
    serial = uow.counters.next_value(f"manifest-{now.year}")
    manifest = Manifest(
        number=make_manifest_number(now.year, serial),
        site_id=site.id,
        courier_id=actor.id,
        route_id=route_id,
        started_at=now,
        station_code=station_code,
    )
    uow.manifests.add(manifest)
    uow.manifests.flush()
    uow.commit()
    return views.manifest_view(uow, manifest, include_ready=True)


def open_manifests(uow: UnitOfWork, actor: SignedInUser) -> list[ManifestView]:
    """The courier's manifests still open or on the road, newest first."""
    authorize(actor, Permission.PICK_UP_SPECIMENS)
    found = uow.manifests.for_courier(actor.id, (ManifestStatus.OPEN, ManifestStatus.IN_TRANSIT))
    return [views.manifest_view(uow, m, include_ready=False) for m in found]


def pickup_manifest(uow: UnitOfWork, actor: SignedInUser, number: str) -> ManifestView:
    """A manifest with its lines and what is still waiting at the site (expected vs scanned)."""
    authorize(actor, Permission.PICK_UP_SPECIMENS)
    manifest = _manifest(uow, number)
    return views.manifest_view(uow, manifest, include_ready=manifest.status is ManifestStatus.OPEN)


def scan_for_pickup(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    number: str,
    scanned: str,
    *,
    bag: BagId | None = None,
) -> ScanFeedback:
    """Handle one courier scan: a specimen label or a bag barcode (commits what it records).

    A bag scan opens that bag for the following specimens and picks up every specimen the
    clinic packed into it. A specimen scan checks, in order: well-formed, known, status
    (rejected, lost, at the lab, already picked up, not yet labelled or verified), site,
    the open bag's temperature group; then records the pickup and warns when the specimen's
    stability will not last the route. Scanning the same specimen again changes nothing.

    Raises:
        NotFound: unknown manifest.
        CustodyError: the manifest is not open or belongs to another courier.
    """
    authorize(actor, Permission.PICK_UP_SPECIMENS)
    manifest = _open_manifest(uow, actor, number)
    text = scanned.strip()
    scanned_bag = parse_bag_id(text)
    if scanned_bag is not None:
        return _scan_bag(uow, clock, actor, manifest, scanned_bag)
    try:
        accession = validate_accession(text)
    except InvalidAccession as exc:
        if is_manifest_number(text):
            return ScanFeedback(
                ScanCode.MALFORMED,
                f"'{text}' is a manifest barcode, not a specimen.",
                hint="Scan the specimen labels and bag barcodes.",
            )
        return ScanFeedback(ScanCode.MALFORMED, exc.message, hint=exc.hint)
    specimen = uow.custody_scan.lock_by_accession(accession)
    if specimen is None:
        return ScanFeedback(
            ScanCode.UNKNOWN_ID,
            f"No specimen {accession} in LabDesk.",
            hint="Leave the tube with the clinic staff: it may be from another system.",
            accession=accession,
        )
    feedback = _pick_up(uow, clock, actor, manifest, specimen, bag)
    if feedback.recorded:
        uow.commit()
    return feedback


def _scan_bag(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, manifest: Manifest, bag: BagId
) -> ScanFeedback:
    rows: list[ManifestRow] = []
    problems: list[str] = []
    for specimen_id in uow.custody_scan.packed_in_bag(manifest.site_id, bag.code):
        specimen = uow.custody_scan.lock_specimen(specimen_id)
        if specimen is None:  # pragma: no cover - deleted under our feet
            continue
        feedback = _pick_up(uow, clock, actor, manifest, specimen, bag)
        if feedback.recorded:
            rows.extend(feedback.rows)
        else:
            problems.append(feedback.message)
    if rows:
        uow.commit()
    temperature = bag.temperature_class.value
    message = f"Bag {bag.code} ({temperature}) is open: scan its specimens."
    if rows:
        message += f" {len(rows)} specimen(s) packed in it were picked up."
    elif not problems:
        aboard = sum(1 for r in views.manifest_rows(uow, manifest) if r.bag_id == bag.code)
        if aboard:
            problems.append(f"{aboard} specimen(s) in this bag are already on this manifest.")
    return ScanFeedback(
        ScanCode.BAG_OPENED,
        message,
        hint=" ".join(problems),
        rows=tuple(rows),
        bag=bag,
    )


def _pick_up(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    manifest: Manifest,
    specimen: Specimen,
    bag: BagId | None,
) -> ScanFeedback:
    assert specimen.id is not None
    assert manifest.id is not None
    now = clock.now()
    tz = views.site_tz(uow, manifest.site_id)
    refusal = pickup_refusal(
        specimen.status,
        specimen_site_id=specimen.site_id,
        manifest_site_id=manifest.site_id,
        specimen_temperature=specimen.temperature_class,
        bag_temperature=bag.temperature_class if bag else None,
    )
    if refusal is not None:
        return refusal_feedback(uow, refusal, specimen, manifest, bag, tz, now, actor.id)
    limit = stability_limit(
        uow.custody_scan.tests_for([specimen.id]).get(specimen.id, []), specimen.temperature_class
    )
    deadline = stability_deadline(specimen.collected_at, limit)
    transit = views.transit_minutes(uow, manifest)
    risk = stability_code(deadline, now, transit)
    try:
        record_event(
            uow,
            clock,
            specimen,
            K.PICKED_UP,
            Handoff(
                actor_id=actor.id,
                location=f"{views.site_code(uow, manifest.site_id)} courier pickup",
                temperature_class=specimen.temperature_class,
                container_ref=bag.code if bag else "",
                note=f"Manifest {manifest.number}",
            ),
        )
    except CustodyError as exc:  # no events yet, or a status the rules above do not know
        return ScanFeedback(
            ScanCode.NOT_READY, exc.message, hint=exc.hint, accession=specimen.accession
        )
    item = ManifestItem(
        manifest_id=manifest.id,
        specimen_id=specimen.id,
        temperature_class=specimen.temperature_class,
        scanned_at=now,
        scanned_by_id=actor.id,
        bag_id=bag.code if bag else "",
    )
    uow.manifests.add(item)
    uow.manifests.flush()
    code, message, hint, warning = stability_words(specimen, risk, limit, deadline, now, transit)
    row = views.row_of(item, specimen, views.site_code(uow, manifest.site_id), warning=warning)
    return ScanFeedback(
        code, message, hint=hint, accession=specimen.accession, rows=(row,), specimen_id=specimen.id
    )


def finish_pickup(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    number: str,
    secret: str,
    *,
    leave_behind: bool = False,
) -> ManifestView:
    """Close the pickup after the courier re-enters their PIN or password (commits).

    Specimens ready at the site but not scanned must be acknowledged (``leave_behind``)
    before the courier leaves. Finishing twice returns the finished manifest.

    Raises:
        AuthenticationError: wrong PIN or password (failures count towards the lockout).
        CustodyError: specimens left behind without ``leave_behind``, or not the courier's.
    """
    authorize(actor, Permission.PICK_UP_SPECIMENS)
    manifest = _manifest(uow, number)
    if manifest.status is not ManifestStatus.OPEN:
        return views.manifest_view(uow, manifest, include_ready=False)
    _own(manifest, actor)
    view = views.manifest_view(uow, manifest, include_ready=True)
    if view.not_scanned and not leave_behind:
        listed = ", ".join(r.accession for r in view.not_scanned[:10])
        raise CustodyError(
            f"{len(view.not_scanned)} specimen(s) ready at {view.site_code} were not scanned: "
            f"{listed}.",
            hint="Scan them, or confirm that you leave them behind.",
        )
    # Commits the attempt, audited against the manifest (never as a sign-in or an unlock).
    reauthenticate(
        uow, clock, actor, secret, confirms=Confirmation("manifest", number, _finish_words)
    )
    manifest = _manifest(uow, number, lock=True)
    if manifest.status is ManifestStatus.OPEN:
        manifest.status = ManifestStatus.IN_TRANSIT
        manifest.finished_at = clock.now()
        record_audit(
            uow,
            clock,
            action=AuditAction.UPDATE,
            entity="manifest",
            entity_id=manifest.number,
            actor=actor,
            detail=f"finished: {len(view.rows)} specimen(s) picked up at {view.site_code}, "
            f"{len(view.not_scanned)} left behind",
        )
        uow.commit()
    return views.manifest_view(uow, manifest, include_ready=False)


def _finish_words(outcome: SignInOutcome, factor: str) -> str:
    """The audit detail of a finish PIN attempt."""
    if outcome is SignInOutcome.SUCCESS:
        return f"finish PIN accepted ({'badge PIN' if factor == 'badge' else 'password'})"
    if outcome in (SignInOutcome.WRONG_PASSWORD, SignInOutcome.WRONG_PIN):
        return "finish PIN wrong"
    if outcome is SignInOutcome.LOCKED_NOW:
        return "finish PIN wrong; account now locked"
    return f"finish PIN refused: {outcome.value.replace('_', ' ')}"


def deliver_manifest(uow: UnitOfWork, clock: Clock, actor: SignedInUser, number: str) -> int:
    """Record that the courier handed the manifest's specimens over at the lab (commits).

    Returns:
        How many specimens were marked delivered (0 when done before).
    """
    authorize(actor, Permission.PICK_UP_SPECIMENS)
    manifest = _manifest(uow, number, lock=True)
    if manifest.status is ManifestStatus.OPEN:
        raise CustodyError(
            f"Manifest {number} is still open.", hint="Finish the pickup before delivering."
        )
    delivered = 0
    for item, specimen in uow.manifests.items_with_specimens(manifest.id or 0):
        if not item.expected:
            continue
        locked = uow.custody_scan.lock_specimen(specimen.id or 0)
        if locked is not None and locked.status is SpecimenStatus.IN_TRANSIT:
            record_event(
                uow,
                clock,
                locked,
                K.DELIVERED,
                Handoff(actor_id=actor.id, location="Lab drop-off", note=f"Manifest {number}"),
            )
            delivered += 1
    uow.commit()
    return delivered


def ready_at_site(uow: UnitOfWork, actor: SignedInUser, site_code: str) -> list[ReadySpecimen]:
    """Specimens verified or packed at a site, waiting for the courier."""
    authorize(actor, Permission.PICK_UP_SPECIMENS)
    site = uow.people.site_by_code(site_code)
    if site is None or site.id is None:
        raise NotFound(f"No site '{site_code}'.")
    return views.ready_specimens(uow, site.id)


def _manifest(uow: UnitOfWork, number: str, *, lock: bool = False) -> Manifest:
    manifest = uow.manifests.by_number(number.strip(), lock=lock)
    if manifest is None:
        raise NotFound(
            f"No manifest {number.strip()}.", hint="Scan the barcode on the printed manifest."
        )
    return manifest


def _own(manifest: Manifest, actor: SignedInUser) -> None:
    if manifest.courier_id != actor.id and actor.role is not Role.ADMIN:
        raise CustodyError(
            f"Manifest {manifest.number} belongs to another courier.",
            hint="Start your own pickup at this site.",
        )


def _open_manifest(uow: UnitOfWork, actor: SignedInUser, number: str) -> Manifest:
    manifest = _manifest(uow, number)
    _own(manifest, actor)
    if manifest.status is not ManifestStatus.OPEN:
        raise CustodyError(
            f"Manifest {manifest.number} is finished; nothing more can be added to it.",
            hint="Start a new pickup for more specimens.",
        )
    return manifest


__all__ = [
    "deliver_manifest",
    "finish_pickup",
    "open_manifests",
    "pickup_manifest",
    "pickup_sites",
    "ready_at_site",
    "scan_for_pickup",
    "start_pickup",
]
