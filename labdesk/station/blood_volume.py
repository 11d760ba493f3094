"""Blood-volume safeguards at the chair: weight, the plan against the limits, pediatric tubes.

The patient's weight is entered at the chair (who and when recorded; a weight of the last
:data:`WEIGHT_VALID_FOR` is reused). The plan's blood total plus the blood drawn in the
last 24 hours and 30 days (collected specimens' recorded volumes, else their tubes'
nominal volumes) is compared with the clinic's policy (:mod:`labdesk.domain.blood_volume`).
Over a limit the station offers the compendium's minimum-volume tubes
(:func:`pediatric_plan`) or a clinician's prioritisation with a reason, which
:func:`check_collection` requires before an over-limit collection is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from labdesk.config import BLOOD_VOLUME_POLICY
from labdesk.domain.audit import AuditAction
from labdesk.domain.blood_volume import (
    WINDOW_24H,
    WINDOW_30D,
    VolumeAssessment,
    VolumePolicy,
    age_band,
    assess,
    check_weight,
    drawn_in,
)
from labdesk.domain.catalog import ContainerType, SpecimenCategory, TestDefinition
from labdesk.domain.clock import Clock
from labdesk.domain.draw_plan import DrawPlan, PlanRequest, build_draw_plan
from labdesk.domain.errors import ValidationError
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.station.encounter import encounter_of, require_open
from labdesk.station.orders import asks_fasted_flag, definitions_of

WEIGHT_VALID_FOR = timedelta(days=30)
"""A weight older than this is asked again (children grow)."""
MIN_REASON = 3


@dataclass(frozen=True)
class Prioritisation:
    """A clinician's decision to draw over the limit: who decided and why."""

    clinician: str
    reason: str


@dataclass(frozen=True)
class VolumeCheck:
    """The plan's blood total against the patient's limits, as the plan step shows it."""

    planned_ml: float
    weight_kg: float | None
    """None: no weight known; the limit cannot be checked until one is entered."""
    weight_recorded_at: datetime | None = None
    weight_recorded_by: str = ""
    assessment: VolumeAssessment | None = None
    pediatric_available: bool = False
    """The compendium has minimum-volume tubes for some of the plan's blood tests."""

    @property
    def over(self) -> bool:
        """True when the plan breaks a limit."""
        return self.assessment is not None and self.assessment.over


def record_weight(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter_id: int,
    weight_kg: float,
) -> float:
    """Record the patient's weight entered at the chair (commits); returns it.

    Raises:
        PermissionDenied: the actor may not collect specimens.
        ValidationError: an impossible weight (0, 500 kg...): nothing is recorded.
    """
    authorize(actor, Permission.COLLECT_SPECIMENS)
    encounter = encounter_of(uow, encounter_id)
    require_open(encounter)
    weight = check_weight(weight_kg)
    uow.preparation.add_weight(
        patient_id=encounter.patient_id,
        weight_kg=weight,
        encounter_id=encounter.id,
        recorded_at=clock.now(),
        recorded_by_id=actor.id,
    )
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="patient",
        entity_id=encounter.patient_id,
        actor=actor,
        station=encounter.station_code,
        detail=f"weight {weight:g} kg entered at the chair",
    )
    uow.commit()
    return weight


def volume_check(
    uow: UnitOfWork,
    clock: Clock,
    encounter_id: int,
    plan: DrawPlan,
    policy: VolumePolicy | None = None,
) -> VolumeCheck:
    """The plan's blood against the limits (a query; no weight known: not assessed)."""
    encounter = encounter_of(uow, encounter_id)
    planned = plan.total_blood_volume_ml
    pediatric = bool(
        uow.preparation.pediatric_for(t.test_code for c in plan.blood for t in c.tests)
    )
    now = clock.now()
    weight = uow.preparation.latest_weight(encounter.patient_id, now - WEIGHT_VALID_FOR)
    if weight is None:
        return VolumeCheck(planned, None, pediatric_available=pediatric)
    assessment = _assess(uow, encounter.patient_id, now, weight.weight_kg, planned, policy)
    return VolumeCheck(
        planned,
        weight.weight_kg,
        weight.recorded_at,
        weight.recorded_by,
        assessment,
        pediatric,
    )


def _assess(
    uow: UnitOfWork,
    patient_id: int,
    now: datetime,
    weight_kg: float,
    planned_ml: float,
    policy: VolumePolicy | None,
) -> VolumeAssessment:
    patient = uow.patients.get(patient_id)
    assert patient is not None
    draws = uow.preparation.blood_draws(patient_id, now - WINDOW_30D)
    return assess(
        policy or BLOOD_VOLUME_POLICY,
        weight_kg,
        age_band(patient.birth_date, now.date()),
        planned_ml,
        drawn_in(draws, now, WINDOW_24H),
        drawn_in(draws, now, WINDOW_30D),
    )


def pediatric_plan(uow: UnitOfWork, plan: DrawPlan, *, winged_set: bool = False) -> DrawPlan:
    """``plan`` with each blood test the compendium maps moved to its minimum-volume tube."""
    requests = [
        PlanRequest(t.ordered_test_id, t.test_code, stat=t.stat)
        for c in plan.containers
        for t in c.tests
    ]
    tests = definitions_of(uow, {r.test_code for r in requests})
    tubes = uow.preparation.pediatric_for(t.test_code for c in plan.blood for t in c.tests)
    for code, tube in tubes.items():
        tests[code] = tube.applied_to(tests[code])
    containers: dict[str, ContainerType] = {}
    for code in {t.container_code for t in tests.values()}:
        container = uow.catalog.get_container(code)
        if container is not None:
            containers[code] = container
    return build_draw_plan(
        requests,
        tests,
        containers,
        winged_set=winged_set,
        fasting_note=asks_fasted_flag(uow, tests.values()),
    )


def pediatric_allowed(uow: UnitOfWork, test_code: str, container_code: str) -> bool:
    """True when ``container_code`` is the compendium's minimum-volume tube for the test."""
    tube = uow.preparation.pediatric_for([test_code]).get(test_code)
    return tube is not None and tube.container_code == container_code


def as_drawn_in(uow: UnitOfWork, test: TestDefinition, container_code: str) -> TestDefinition:
    """``test`` as the compendium defines it in ``container_code``.

    In the test's minimum-volume (pediatric) tube it needs that tube's volume (what its
    reservation and an add-on's check count); in any other container it is unchanged.
    """
    if test.container_code == container_code:
        return test
    tube = uow.preparation.pediatric_for([test.code]).get(test.code)
    if tube is None or tube.container_code != container_code:
        return test
    return tube.applied_to(test)


@dataclass(frozen=True)
class CheckedVolume:
    """The collection's blood against the limits, ready to be recorded."""

    assessment: VolumeAssessment | None
    prioritisation: Prioritisation | None


def check_collection(
    uow: UnitOfWork,
    clock: Clock,
    patient_id: int,
    drawn: Sequence[tuple[ContainerType, float | None]],
    prioritisation: Prioritisation | None,
    policy: VolumePolicy | None,
    problems: list[str],
) -> CheckedVolume:
    """Check the blood drawn now against the limits; adds what stops the collection.

    Args:
        drawn: each collected container with the volume recorded (None: its nominal).
        prioritisation: a clinician's decision to draw over the limit.
    """
    planned = round(
        sum(
            (ml if ml is not None else c.nominal_volume_ml)
            for c, ml in drawn
            if c.category is SpecimenCategory.BLOOD
        ),
        3,
    )
    now = clock.now()
    weight = uow.preparation.latest_weight(patient_id, now - WEIGHT_VALID_FOR)
    if weight is None or planned == 0:
        return CheckedVolume(None, None)
    try:
        assessment = _assess(uow, patient_id, now, weight.weight_kg, planned, policy)
    except ValidationError as exc:  # a stored weight the policy refuses: ask again
        problems.append(exc.message.rstrip("."))
        return CheckedVolume(None, None)
    if not assessment.over:
        return CheckedVolume(assessment, None)
    if prioritisation is None:
        problems.append(
            f"the blood drawn is over the patient's limit ({assessment.summary()}): switch to "
            "pediatric tubes, draw less, or record a clinician's prioritisation"
        )
        return CheckedVolume(assessment, None)
    clinician = " ".join(prioritisation.clinician.split())
    reason = " ".join(prioritisation.reason.split())
    if len(clinician) < MIN_REASON or len(reason) < MIN_REASON:
        problems.append("a prioritisation over the limit needs the clinician's name and a reason")
    return CheckedVolume(assessment, Prioritisation(clinician, reason))


def record_prioritisation(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, encounter_id: int, checked: CheckedVolume
) -> None:
    """Store the clinician's prioritisation of an over-limit collection (caller commits)."""
    if checked.assessment is None or checked.prioritisation is None:
        return
    a = checked.assessment
    uow.preparation.add_prioritisation(
        encounter_id=encounter_id,
        clinician=checked.prioritisation.clinician,
        reason=checked.prioritisation.reason,
        planned_ml=a.planned_ml,
        allowed_ml=a.allowed_now_ml,
        excess_ml=a.excess_ml,
        recorded_at=clock.now(),
        recorded_by_id=actor.id,
    )
    record_audit(
        uow,
        clock,
        action=AuditAction.UPDATE,
        entity="encounter",
        entity_id=encounter_id,
        actor=actor,
        detail=(
            f"drawn over the blood-volume limit by {a.excess_ml:g} mL, prioritised by "
            f"{checked.prioritisation.clinician}: {checked.prioritisation.reason}"
        )[:400],
    )
