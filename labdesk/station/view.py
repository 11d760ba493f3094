"""Assembling what the station screen shows about one encounter (read-only)."""

from __future__ import annotations

from collections.abc import Sequence

from labdesk.domain.encounter import Encounter, ForensicRecord
from labdesk.domain.printing import PrintJobStatus
from labdesk.domain.recollection import RecollectionTask
from labdesk.domain.specimen import Specimen, SpecimenStatus
from labdesk.kernel.dto import PatientSummary
from labdesk.ports import UnitOfWork
from labdesk.station.dto import AlarmRow, EncounterSpecimen, EncounterView
from labdesk.station.orders import patient_orders, plan_for
from labdesk.station.recollection import recollection_info, recollection_requests
from labdesk.station.series import plannable, timed_steps


def build_view(
    uow: UnitOfWork,
    encounter: Encounter,
    *,
    winged_set: bool = False,
    recollection: RecollectionTask | None = None,
    with_pending: bool = False,
) -> EncounterView:
    """The encounter with its patient, orders, draw plan, specimens, alarms and blockers.

    With ``recollection`` the plan holds that task's tests to draw again, plus the
    patient's pending orders only when ``with_pending`` is set; without it the plan is the
    ordinary visit's (the pending orders).
    """
    assert encounter.id is not None
    patient = uow.patients.get(encounter.patient_id)
    assert patient is not None
    orders = patient_orders(uow, encounter.patient_id)
    if recollection is None:
        plan = plan_for(uow, plannable(uow, orders, encounter.id), winged_set=winged_set)
        info = None
    else:
        redraw = recollection_requests(uow, recollection)
        pending = plannable(uow, orders, encounter.id) if with_pending else ()
        plan = plan_for(uow, pending, winged_set=winged_set, also=redraw)
        info = recollection_info(uow, recollection)
    forensic = {f.specimen_id: f for f in uow.station.forensic(encounter.id)}
    drawn = uow.station.specimens(encounter.id)
    unconfirmed = unconfirmed_labels(uow, drawn)
    specimens = tuple(specimen_row(uow, s, forensic, unconfirmed) for s in drawn)
    alarms = tuple(
        AlarmRow(
            id=a.id or 0,
            kind=a.kind,
            scanned=a.scanned,
            message=a.message,
            raised_at=a.raised_at,
            open=a.open,
            resolution=a.resolution,
        )
        for a in uow.station.alarms(encounter.id)
    )
    view = EncounterView(
        id=encounter.id,
        patient=PatientSummary.of(patient),
        status=encounter.status,
        station_code=encounter.station_code,
        started_at=encounter.started_at,
        identified=encounter.identified,
        id_method=encounter.id_method,
        identified_at=encounter.identified_at,
        orders=orders,
        plan=plan,
        specimens=specimens,
        alarms=alarms,
        missed_test_ids=tuple(m.ordered_test_id for m in uow.station.missed(encounter.id)),
        recollection=info,
        timed_steps=timed_steps(uow, plan),
    )
    return EncounterView(**{**view.__dict__, "blockers": blockers(view)})


def unconfirmed_labels(uow: UnitOfWork, specimens: Sequence[Specimen]) -> frozenset[int]:
    """Ids of the unlabelled specimens whose newest label job the printer never confirmed."""
    waiting = [s.id for s in specimens if s.id is not None and s.status is SpecimenStatus.COLLECTED]
    jobs = uow.station.latest_label_jobs(waiting)
    return frozenset(i for i, (_job, status) in jobs.items() if status is PrintJobStatus.SENT)


def specimen_row(
    uow: UnitOfWork,
    specimen: Specimen,
    forensic: dict[int, ForensicRecord],
    unconfirmed: frozenset[int] = frozenset(),
) -> EncounterSpecimen:
    """One specimen of the encounter as the scan-back list shows it.

    ``forensic`` holds the encounter's forensic forms by specimen id; ``unconfirmed`` the
    ids :func:`unconfirmed_labels` found.
    """
    assert specimen.id is not None
    container = uow.catalog.get_container(specimen.container_code)
    tests = tuple(t.test_code for t in uow.orders.tests_for_specimen(specimen.id))
    record = forensic.get(specimen.id)
    recollected = {
        f.recollection_of_id for f in forensic.values() if f.recollection_of_id is not None
    }
    needs = (
        record is not None
        and not record.temperature_in_range
        and not record.observed
        and specimen.id not in recollected
        and not record.recollection_waived_reason
    )
    return EncounterSpecimen(
        id=specimen.id,
        accession=specimen.accession,
        container_code=specimen.container_code,
        container_name=container.name if container else specimen.container_code,
        cap_colour=container.cap_colour if container else "",
        cap_hex=container.cap_hex if container else "#FFFFFF",
        status=specimen.status,
        tests=tests,
        collected_at=specimen.collected_at,
        ccf_number=record.ccf_number if record else "",
        needs_observed_recollection=needs,
        label_unconfirmed=specimen.id in unconfirmed,
    )


def blockers(view: EncounterView) -> tuple[str, ...]:
    """What still stops the visit from being finished, in words."""
    found: list[str] = []
    if not view.identified:
        found.append("the patient's two identifiers are not confirmed")
    if view.open_alarms:
        found.append(f"{len(view.open_alarms)} scan alarm(s) not resolved")
    unlabelled = [s for s in view.specimens if s.status is SpecimenStatus.COLLECTED]
    if unlabelled:
        found.append(f"{len(unlabelled)} label(s) not printed")
    unverified = [s for s in view.specimens if s.status is SpecimenStatus.LABELLED]
    if unverified:
        found.append(f"{len(unverified)} tube(s) not scanned back")
    recollect = [s for s in view.specimens if s.needs_observed_recollection]
    if recollect:
        found.append(
            f"{len(recollect)} forensic specimen(s) need an observed recollection "
            "(temperature out of range)"
        )
    return tuple(found)
