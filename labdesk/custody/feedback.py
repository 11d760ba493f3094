"""The words of courier scan feedback: why a pickup was refused, how stability stands."""

from __future__ import annotations

from datetime import datetime

from labdesk.custody import views
from labdesk.custody.dto import ScanFeedback
from labdesk.custody.events import last_actor, when_text
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.manifest import BagId, Manifest
from labdesk.domain.scan_rules import ScanCode, StabilityLimit, describe_duration
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.ports import UnitOfWork

K = CustodyEventKind


def stability_words(
    specimen: Specimen,
    risk: ScanCode | None,
    limit: StabilityLimit,
    deadline: datetime | None,
    now: datetime,
    transit: int,
) -> tuple[ScanCode, str, str, str]:
    """Code, message, hint and row warning of a recorded pickup."""
    temperature = specimen.temperature_class.value
    if risk is None or deadline is None:
        text = f"{specimen.accession} picked up: {specimen.container_code}, {temperature}."
        return ScanCode.ADDED, text, "", ""
    rule = f"{limit.test_code} allows {limit.hours:g} h {temperature}"
    if risk is ScanCode.BEYOND_STABILITY:
        message = (
            f"{specimen.accession} picked up, but it is beyond stability: collected "
            f"{describe_duration(now - specimen.collected_at)} ago, {rule}."
        )
        hint = "The lab will likely reject it: tell the clinic so they can recollect."
        return risk, message, hint, f"Beyond stability ({rule})"
    left = describe_duration(deadline - now)
    message = (
        f"{specimen.accession} picked up, but stability is at risk: {left} left ({rule}); "
        f"the route takes {transit} min."
    )
    return risk, message, "Deliver it first and tell the lab it is urgent.", f"At risk: {left} left"


def refusal_feedback(
    uow: UnitOfWork,
    code: ScanCode,
    specimen: Specimen,
    manifest: Manifest,
    bag: BagId | None,
    tz: str,
    now: datetime,
    actor_id: int,
) -> ScanFeedback:
    """The feedback of a refused pickup scan; the signed-in ``actor_id`` is told "you"."""
    assert specimen.id is not None
    accession = specimen.accession
    message, hint = "", ""
    if code is ScanCode.ALREADY_PICKED_UP:
        on_manifest = uow.manifests.item(manifest.id or 0, specimen.id)
        if on_manifest is not None:
            return ScanFeedback(
                ScanCode.ALREADY_ON_MANIFEST,
                f"{accession} is already on this manifest "
                f"(scanned at {when_text(on_manifest.scanned_at, tz, now)}).",
                accession=accession,
                specimen_id=specimen.id,
            )
        found = uow.custody_scan.last_event(specimen.id, K.PICKED_UP)
        name, at = (found[1], found[0].occurred_at) if found else ("someone", None)
        other = uow.manifests.latest_item_for(specimen.id)
        where = f" (manifest {other[1].number})" if other else ""
        if found is not None and found[0].actor_id == actor_id:
            # Never "check with Chris Okafor" to Chris Okafor himself (issue 11 item 10).
            yours = f" {other[1].number}" if other else ""
            message = (
                f"{accession} is already on your manifest{yours}: "
                f"you scanned it at {when_text(at, tz, now)}."
            )
            hint = "Do not take it twice: it travels on that manifest."
        else:
            message = (
                f"{accession} was already picked up by {name} at {when_text(at, tz, now)}{where}."
            )
            hint = f"Do not take it twice: check with {name}."
    elif code is ScanCode.NOT_READY:
        step = "labelled" if specimen.status is SpecimenStatus.COLLECTED else "verified"
        message = f"{accession} is not {step} yet."
        hint = "Ask the clinic staff to label it and scan it back before pickup."
    elif code is ScanCode.WRONG_SITE:
        here = views.site_code(uow, manifest.site_id)
        message = f"{accession} belongs to {views.site_code(uow, specimen.site_id)}, not {here}."
        hint = "Leave it with the clinic staff; it is picked up from its own site."
    elif code is ScanCode.WRONG_TEMPERATURE:
        needed = specimen.temperature_class.value
        assert bag is not None
        message = (
            f"{accession} travels {needed}, but the open bag {bag.code} is "
            f"{bag.temperature_class.value}."
        )
        hint = f"Scan a {needed} bag (BAG{needed[0].upper()}…) first, then the specimen again."
    elif code is ScanCode.REJECTED:
        name, at = last_actor(uow, specimen.id, K.REJECTED)
        message = (
            f"{accession} was rejected by {name} at {when_text(at, tz, now)}; it must not travel."
        )
        hint = "Leave it with the clinic staff: a recollection is requested."
    elif code is ScanCode.LOST:
        name, at = last_actor(uow, specimen.id, K.LOST)
        message = f"{accession} was reported lost by {name} at {when_text(at, tz, now)}."
        hint = "Give it to the clinic staff, who tell the lab it has been found."
    else:  # AT_LAB
        name, at = last_actor(uow, specimen.id, K.RECEIVED)
        message = (
            f"{accession} is already at the lab (received by {name} at {when_text(at, tz, now)})."
        )
        hint = "Leave it with the clinic staff and tell the lab."
    return ScanFeedback(code, message, hint=hint, accession=accession, specimen_id=specimen.id)
