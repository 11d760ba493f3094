"""A visit at the phlebotomy chair: open, confirm two identifiers, view, finish or abandon.

Every mutating function here commits its own transaction. Nothing may be collected or
labelled before :func:`confirm_identity` (or :func:`confirm_identity_by_wristband`) has
recorded that name and date of birth were checked for this patient in this encounter.
"""

from __future__ import annotations

from datetime import date, timedelta

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.encounter import Encounter, EncounterStatus, IdMethod
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.patient import fold
from labdesk.domain.people import Station
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import PatientSummary, SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.station.dto import EncounterView
from labdesk.station.patients import lookup_by_scan
from labdesk.station.recollection import require_for_encounter, task_of
from labdesk.station.view import build_view

MIN_REASON = 3
#: A two-identifier check counts for the patient in the chair, not for a later return.
IDENTIFICATION_VALID = timedelta(minutes=30)
#: An open visit older than this is not resumed: it is closed as abandoned.
STALE_ENCOUNTER = timedelta(hours=12)
STALE_REASON = "left open; closed when the patient was opened again"


class IdentityMismatch(ValidationError):
    """The identifiers given do not match the patient: possibly the wrong patient."""


def station_of(uow: UnitOfWork, station_code: str) -> Station:
    """The registered station ``station_code``.

    Raises:
        NotFound: if the station is not set up (its site decides where specimens are).
    """
    station = uow.people.station_by_code(station_code)
    if station is None:
        raise NotFound(
            f"Station {station_code} is not set up in LabDesk.",
            hint="Ask an administrator to add this station (Admin page) or set "
            "LABDESK_STATION to a station that exists.",
        )
    return station


def open_encounter(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, patient_id: int, station_code: str
) -> int:
    """Open (or resume) the patient's visit at this station and commit; returns its id.

    Opening the record is audited as a view of the patient's data.

    Raises:
        PermissionDenied: if the actor may not collect specimens.
        NotFound: no such patient or station.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = _open(uow, clock, actor, patient_id, station_code, "station encounter")
    uow.commit()
    assert encounter.id is not None
    return encounter.id


def open_by_wristband(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, scanned: str, station_code: str
) -> int:
    """Open the visit of the patient whose wristband was scanned, identified by it; commit.

    The wristband carries the patient's identifiers, so the scan is the two-identifier
    check. One transaction: the lookup, the visit, the view and the identification.

    Raises:
        NotFound: no patient has the scanned identifier, or the station is not set up.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    patient = lookup_by_scan(uow, scanned)
    encounter = _open(uow, clock, actor, patient.id, station_code, "wristband scan")
    _identified(uow, clock, actor, encounter, IdMethod.WRISTBAND)
    assert encounter.id is not None
    return encounter.id


def _open(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    patient_id: int,
    station_code: str,
    how: str,
) -> Encounter:
    station = station_of(uow, station_code)
    if uow.patients.get(patient_id) is None:
        raise NotFound(f"Patient {patient_id} does not exist.")
    encounter = _resumable(
        uow, clock, actor, uow.station.open_for_patient(patient_id, station_code)
    )
    if encounter is None:
        encounter = Encounter(
            patient_id=patient_id,
            station_code=station_code,
            site_id=station.site_id,
            started_by_id=actor.id,
            started_at=clock.now(),
        )
        uow.station.add(encounter)
        uow.station.flush()
    record_audit(
        uow,
        clock,
        action=AuditAction.VIEW,
        entity="patient",
        entity_id=patient_id,
        actor=actor,
        station=station_code,
        detail=f"{how}, encounter {encounter.id}",
    )
    return encounter


def _resumable(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, encounter: Encounter | None
) -> Encounter | None:
    """The open encounter to resume, if it is recent; its identification only if fresh.

    A visit left open (the program closed, the assistant called away) is resumed the same
    day; an older one is closed as abandoned. A two-identifier check is only good while
    the patient is in the chair: older than ``IDENTIFICATION_VALID`` it must be done again.
    """
    if encounter is None:
        return None
    now = clock.now()
    if now - encounter.started_at > STALE_ENCOUNTER:
        _close(uow, clock, actor, encounter, EncounterStatus.ABANDONED, STALE_REASON, commit=False)
        return None
    if encounter.identified_at is not None and now - encounter.identified_at > IDENTIFICATION_VALID:
        encounter.identified_at = None
        encounter.identified_by_id = None
        encounter.id_method = None
    return encounter


def load_encounter(
    uow: UnitOfWork,
    actor: SignedInUser,
    encounter_id: int,
    *,
    winged_set: bool = False,
    recollection_task_id: int | None = None,
    with_pending: bool = False,
) -> EncounterView:
    """The encounter as the screen shows it: patient, orders, plan, specimens, alarms.

    Args:
        uow: an open unit of work.
        actor: the signed-in user.
        encounter_id: the visit.
        winged_set: a butterfly set is used (the plan's discard-tube note).
        recollection_task_id: the visit draws this recollection: the plan holds exactly
            its rejected or lost tests (see
            :func:`~labdesk.station.recollection.plan_recollection`).
        with_pending: in a recollection visit, plan the patient's pending orders too.

    Raises:
        NotFound: no such encounter or recollection task.
        ValidationError: the recollection task is another patient's.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = encounter_of(uow, encounter_id)
    task = None
    if recollection_task_id is not None:
        task = task_of(uow, recollection_task_id)
        require_for_encounter(task, encounter)
    return build_view(
        uow, encounter, winged_set=winged_set, recollection=task, with_pending=with_pending
    )


def encounter_of(uow: UnitOfWork, encounter_id: int) -> Encounter:
    """The encounter ``encounter_id``.

    Raises:
        NotFound: if it does not exist.
    """
    encounter = uow.station.get(encounter_id)
    if encounter is None:
        raise NotFound(f"Encounter {encounter_id} does not exist.", hint="Find the patient again.")
    return encounter


def require_open(encounter: Encounter) -> None:
    """Refuse work on a finished or abandoned encounter.

    Raises:
        ValidationError: if the encounter is closed.
    """
    if not encounter.is_open:
        raise ValidationError(
            f"This visit was already {encounter.status.value}.",
            hint="Find the patient again to start a new visit.",
        )


def require_identified(encounter: Encounter) -> None:
    """Refuse collection or labels before the two-identifier check.

    Raises:
        ValidationError: if name and date of birth have not been confirmed.
    """
    require_open(encounter)
    if not encounter.identified:
        raise ValidationError(
            "Confirm the patient's two identifiers first.",
            hint="Ask for full name and date of birth and check them, or scan the wristband.",
        )


def confirm_identity(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter_id: int,
    *,
    birth_date: date | None,
    name_confirmed: bool,
    stated_family_name: str = "",
) -> None:
    """Record that the patient's name and date of birth match the record, and commit.

    The name counts as confirmed when the MA ticks it or types a family name that matches
    (accents, case and punctuation ignored). A mismatch is audited and refused.

    Raises:
        IdentityMismatch: the date of birth or the stated name does not match.
        ValidationError: a missing identifier, or the encounter is closed.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = encounter_of(uow, encounter_id)
    require_open(encounter)
    patient = uow.patients.get(encounter.patient_id)
    assert patient is not None
    if birth_date is None:
        raise ValidationError(
            "Type the date of birth the patient says.", hint="For example 1980-03-04."
        )
    stated = fold(stated_family_name)
    name_ok = name_confirmed or (bool(stated) and stated == fold(patient.family_name))
    mismatch = ""
    if birth_date != patient.birth_date:
        mismatch = "The date of birth does not match this patient's record."
    elif stated and stated != fold(patient.family_name):
        mismatch = "The name the patient gave does not match this patient's record."
    if mismatch:
        _audit_identification(uow, clock, actor, encounter, "mismatch")
        uow.commit()
        raise IdentityMismatch(
            mismatch,
            hint="Stop: ask again. If it still does not match, this may be the wrong patient "
            "or the wrong record. Do not collect.",
        )
    if not name_ok:
        raise ValidationError(
            "Confirm the patient's name as well as the date of birth.",
            hint="Ask the patient to state their full name, then tick 'Name matches'.",
        )
    _identified(uow, clock, actor, encounter, IdMethod.NAME_DOB)


def confirm_identity_by_wristband(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, encounter_id: int, scanned: str
) -> PatientSummary:
    """Confirm the identifiers with a scanned wristband of this patient, and commit.

    Raises:
        IdentityMismatch: the wristband belongs to another patient.
        NotFound: no patient has the scanned identifier.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = encounter_of(uow, encounter_id)
    require_open(encounter)
    found = lookup_by_scan(uow, scanned)
    if found.id != encounter.patient_id:
        _audit_identification(uow, clock, actor, encounter, "wrong wristband")
        uow.commit()
        raise IdentityMismatch(
            "This wristband belongs to another patient.",
            hint="Stop: check who is in the chair. Scan this patient's own wristband.",
        )
    _identified(uow, clock, actor, encounter, IdMethod.WRISTBAND)
    return found


def _identified(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, encounter: Encounter, method: IdMethod
) -> None:
    if not encounter.identified:
        encounter.identified_at = clock.now()
        encounter.identified_by_id = actor.id
        encounter.id_method = method
        _audit_identification(uow, clock, actor, encounter, "confirmed", method)
    uow.commit()


def _audit_identification(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter: Encounter,
    outcome: str,
    method: IdMethod | None = None,
) -> None:
    assert encounter.id is not None
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="encounter",
        entity_id=encounter.id,
        actor=actor,
        station=encounter.station_code,
        detail=f"two-identifier check of patient {encounter.patient_id}"
        + (f" by {method.value}" if method else ""),
        outcome=outcome,
    )


def complete_encounter(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, encounter_id: int
) -> EncounterView:
    """Finish the visit when nothing blocks it, and commit.

    Raises:
        ValidationError: listing what still blocks it (alarms, tubes not scanned back…).
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = encounter_of(uow, encounter_id)
    require_identified(encounter)
    view = build_view(uow, encounter)
    if view.blockers:
        raise ValidationError(
            "The visit cannot be finished yet: " + "; ".join(view.blockers) + ".",
            hint="Resolve these, or abandon the visit with a reason.",
        )
    _close(uow, clock, actor, encounter, EncounterStatus.COMPLETED, "")
    return build_view(uow, encounter)


def abandon_encounter(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, encounter_id: int, reason: str = ""
) -> EncounterView:
    """Close the visit without finishing it, and commit (always possible).

    Before any collection nothing else is saved. After collection the specimens stay as
    they are and appear on the station worklist; a reason is then required.

    Raises:
        ValidationError: specimens exist and no reason was given.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = encounter_of(uow, encounter_id)
    if not encounter.is_open:
        return build_view(uow, encounter)
    reason = " ".join(reason.split())
    assert encounter.id is not None
    if uow.station.specimens(encounter.id) and len(reason) < MIN_REASON:
        raise ValidationError(
            "Specimens were already collected: say why the visit is abandoned.",
            hint="The specimens stay on the station worklist for follow-up.",
        )
    _close(uow, clock, actor, encounter, EncounterStatus.ABANDONED, reason)
    return build_view(uow, encounter)


def _close(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter: Encounter,
    status: EncounterStatus,
    reason: str,
    *,
    commit: bool = True,
) -> None:
    assert encounter.id is not None
    encounter.status = status
    encounter.ended_at = clock.now()
    encounter.end_reason = reason[:200]
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="encounter",
        entity_id=encounter.id,
        actor=actor,
        station=encounter.station_code,
        detail=f"{status.value}" + (f": {reason}" if reason else ""),
    )
    if commit:
        uow.commit()


def resolve_alarm(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, alarm_id: int, resolution: str
) -> None:
    """Record how a scan-back alarm was resolved, and commit.

    Raises:
        ValidationError: no resolution text.
        NotFound: no such alarm.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    resolution = " ".join(resolution.split())
    if len(resolution) < MIN_REASON:
        raise ValidationError(
            "Say how the alarm was resolved.",
            hint="For example: 'wrong tube set aside, returned to its patient's rack'.",
        )
    alarm = uow.station.alarm(alarm_id)
    if alarm is None:
        raise NotFound(f"Alarm {alarm_id} does not exist.")
    if not alarm.open:
        return
    alarm.resolved_at = clock.now()
    alarm.resolved_by_id = actor.id
    alarm.resolution = resolution[:200]
    encounter = encounter_of(uow, alarm.encounter_id)
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="scan_alarm",
        entity_id=alarm_id,
        actor=actor,
        station=encounter.station_code,
        detail=f"resolved {alarm.kind.value}: {resolution}",
    )
    uow.commit()
