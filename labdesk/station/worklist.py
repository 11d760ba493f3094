"""The station worklist: today's patients waiting, and specimens waiting for the courier."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from labdesk.domain.clock import Clock
from labdesk.domain.lifecycle import NEEDS_RECOLLECTION
from labdesk.domain.permissions import Permission
from labdesk.kernel.dto import PatientSummary, SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.station.dto import PickupRow, RecollectionRow, WaitingPatient, Worklist
from labdesk.station.encounter import station_of
from labdesk.station.recollection_tasks import open_recollection_tasks
from labdesk.station.series import waiting_timed_draws


def start_of_day(now: datetime, timezone: str) -> datetime:
    """Midnight of ``now``'s day in the clinic's time zone, as aware UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    return datetime.combine(local.date(), time(0), tzinfo=local.tzinfo).astimezone(UTC)


def station_worklist(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    station_code: str,
    timezone: str,
) -> Worklist:
    """Patients with tests ordered today and not yet collected, this site's specimens
    collected but not yet picked up, and its open recollection tasks (rejected or lost).

    Raises:
        PermissionDenied: if the actor may not collect specimens.
        NotFound: the station is not set up.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    station = station_of(uow, station_code)
    patients: dict[int, PatientSummary] = {}

    def summary(patient_id: int) -> PatientSummary:
        if patient_id not in patients:
            patient = uow.patients.get(patient_id)
            assert patient is not None
            patients[patient_id] = PatientSummary.of(patient)
        return patients[patient_id]

    waiting = tuple(
        WaitingPatient(summary(w.patient_id), w.pending_tests, w.first_ordered_at, w.stat)
        for w in uow.station.waiting(start_of_day(clock.now(), timezone))
    )
    pickup = tuple(
        PickupRow(
            specimen_id=s.id or 0,
            accession=s.accession,
            patient=summary(s.patient_id),
            container_code=s.container_code,
            status=s.status,
            collected_at=s.collected_at,
        )
        for s in uow.station.awaiting_pickup(station.site_id)
    )
    site = uow.people.site(station.site_id)
    recollect = tuple(
        RecollectionRow(
            task_id=task.task_id,
            patient=summary(task.patient_id),
            accession=task.accession,
            reason=task.reason_label,
            opened_at=task.opened_at,
            tests=_redraw_codes(uow, task.specimen_id),
        )
        for task in open_recollection_tasks(uow, site_code=site.code if site else None)
    )
    return Worklist(
        waiting=waiting,
        awaiting_pickup=pickup,
        recollections=recollect,
        timed_draws=waiting_timed_draws(uow, patients),
    )


def _redraw_codes(uow: UnitOfWork, specimen_id: int) -> tuple[str, ...]:
    """Codes of the specimen's tests still to draw again (rejected or lost)."""
    tests = uow.orders.tests_for_specimen(specimen_id)
    return tuple(t.test_code for t in tests if t.status in NEEDS_RECOLLECTION)
