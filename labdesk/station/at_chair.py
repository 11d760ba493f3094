"""What the chair adds to a collection: preparation answers, blood volume, collector, observer.

:func:`labdesk.station.collect.record_collection` calls this module from one place: before
its own checks (:func:`resolve_people`: the collector's badge and the observer's), after
them (:func:`check`: preparation and blood-volume rules, adding refusals to the same list,
so a refusal saves nothing), and around the write (:func:`record_before`: the answers, so
the lab's message queued in the write carries them; :func:`record_after`: answers put on
the specimens, collector and observer, an over-limit prioritisation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from labdesk.domain.blood_volume import VolumePolicy
from labdesk.domain.catalog import ContainerType
from labdesk.domain.clock import Clock
from labdesk.domain.draw_plan import DrawPlan
from labdesk.domain.people import User
from labdesk.domain.permissions import Permission, permissions_of
from labdesk.domain.preparation import PreparationAnswers, Requirement
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork
from labdesk.station import blood_volume, preparation
from labdesk.station.blood_volume import CheckedVolume, Prioritisation, VolumeCheck
from labdesk.station.dto import CollectResult, ContainerCollection
from labdesk.station.preparation import CheckedPreparation


@dataclass(frozen=True)
class AtChair:
    """The chair's part of a collection (every field optional)."""

    preparation: PreparationAnswers = field(default_factory=PreparationAnswers)
    prioritisation: Prioritisation | None = None
    """A clinician's decision to draw over the blood-volume limit."""
    volume_policy: VolumePolicy | None = None
    """None: the default policy (:data:`labdesk.config.BLOOD_VOLUME_POLICY`)."""
    collector_badge: str = ""
    """The badge of the collector when it is not the signed-in user."""
    observer_badge: str = ""
    """The badge of who observed a forensic collection."""


@dataclass(frozen=True)
class Drawn:
    """One collected container as the chair's rules need it."""

    container: ContainerType
    volume_ml: float | None
    tests: tuple[tuple[int, str], ...]
    """(ordered test id, test code)."""
    forensic: bool
    dose_at: datetime | None = None
    """The dose a dose-timed draw (a trough) is timed from, as entered with the draw."""


@dataclass(frozen=True)
class People:
    """Who drew and who observed (ids), resolved from their badges."""

    collector_id: int | None = None
    observer_id: int | None = None


@dataclass(frozen=True)
class Checked:
    """The chair's checks passed, with what must be recorded."""

    people: People
    preparation: CheckedPreparation
    volume: CheckedVolume


OBSERVER_REQUIRED = (
    "a forensic (chain-of-custody) collection records who observed it: scan the observer's "
    "badge (your own if you observed it yourself)"
)


def resolve_people(
    uow: UnitOfWork,
    clock: Clock,
    chair: AtChair,
    containers: Sequence[ContainerCollection],
    problems: list[str],
) -> tuple[People, list[ContainerCollection]]:
    """The collector and observer from their badges; the containers as the chair filled them.

    The collector's badge sets the collector of every container that names none. A
    forensic collection needs the observer's badge. A container whose tests the
    preparation question asks about fasting gets its 'fasted' flag from that answer (the
    patient is asked once).
    """
    collector = _badge_user(uow, chair.collector_badge, "collector", problems)
    observer = _badge_user(uow, chair.observer_badge, "observer", problems)
    if collector is not None and Permission.COLLECT_SPECIMENS not in permissions_of(collector.role):
        problems.append(f"{collector.display_name} ({collector.role.label}) may not collect")
    forensic = any(c.forensic is not None and c.collected for c in containers)
    if observer is not None and not forensic:
        problems.append("an observer is recorded only for a forensic (observed) collection")
    elif forensic and not chair.observer_badge.strip():
        problems.append(OBSERVER_REQUIRED)
    people = People(
        collector.id if collector is not None else None,
        observer.id if observer is not None else None,
    )
    drawn = [_filled(uow, clock, chair, c, people.collector_id) for c in containers]
    return people, drawn


def _filled(
    uow: UnitOfWork,
    clock: Clock,
    chair: AtChair,
    container: ContainerCollection,
    collector_id: int | None,
) -> ContainerCollection:
    """``container`` with the badge's collector and the preparation's 'fasted' answer."""
    if container.collector_id is None and collector_id is not None:
        container = replace(container, collector_id=collector_id)
    if container.fasting is None and container.collected:
        codes = [
            ot.test_code
            for ot in (uow.station.ordered_test(i) for i in container.ordered_test_ids)
            if ot is not None
        ]
        answer = preparation.fasted_for(uow, clock, codes, chair.preparation)
        if answer is not None:
            container = replace(container, fasting=answer)
    return container


def _badge_user(uow: UnitOfWork, badge: str, who: str, problems: list[str]) -> User | None:
    scanned = badge.strip()
    if not scanned:
        return None
    user = uow.people.user_by_badge(scanned)
    if user is None or not user.active:
        problems.append(
            f"the {who}'s badge is not registered to an active user; scan it again or ask "
            "the administrator to register it"
        )
        return None
    return user


def check(
    uow: UnitOfWork,
    clock: Clock,
    patient_id: int,
    chair: AtChair,
    people: People,
    drawn: Sequence[Drawn],
    problems: list[str],
) -> Checked:
    """Preparation and blood-volume rules over what is drawn now; adds refusals."""
    tests = [t for d in drawn for t in d.tests]
    doses = {i: d.dose_at for d in drawn if d.dose_at is not None for i, _ in d.tests}
    prepared = preparation.check_collection(uow, clock, tests, chair.preparation, problems, doses)
    volume = blood_volume.check_collection(
        uow,
        clock,
        patient_id,
        [(d.container, d.volume_ml) for d in drawn],
        chair.prioritisation,
        chair.volume_policy,
        problems,
    )
    return Checked(people, prepared, volume)


def record_before(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, encounter_id: int, checked: Checked
) -> None:
    """Store the preparation answers before the specimens and the lab's message are written."""
    preparation.record_answers(uow, clock, actor, encounter_id, checked.preparation)


def record_after(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    encounter_id: int,
    checked: Checked,
    result: CollectResult,
    forensic_specimens: Sequence[int] = (),
) -> None:
    """Answers onto the specimens, collector and observer, an over-limit prioritisation."""
    specimen_by_test: dict[int, int] = {}
    for row in result.specimens:
        specimen = uow.specimens.get(row.id)
        assert specimen is not None
        for ot in uow.orders.tests_for_specimen(row.id):
            if ot.id is not None:
                specimen_by_test[ot.id] = row.id
        forensic = row.id in forensic_specimens or bool(row.ccf_number)
        if specimen.collected_by_id != actor.id or (forensic and people_observed(checked)):
            uow.preparation.add_witness(
                specimen_id=row.id,
                recorded_by_id=actor.id,
                collector_id=specimen.collected_by_id,
                observer_id=checked.people.observer_id if forensic else None,
            )
    preparation.link_answers(uow, specimen_by_test)
    blood_volume.record_prioritisation(uow, clock, actor, encounter_id, checked.volume)


def people_observed(checked: Checked) -> bool:
    """True when an observer was recorded."""
    return checked.people.observer_id is not None


@dataclass(frozen=True)
class ChairChecks:
    """What the plan step shows before Collect: the questions to ask, the blood volume."""

    requirements: tuple[Requirement, ...]
    volume: VolumeCheck


def chair_checks(
    uow: UnitOfWork,
    clock: Clock,
    encounter_id: int,
    plan: DrawPlan,
    policy: VolumePolicy | None = None,
) -> ChairChecks:
    """The preparation questions and the blood-volume check of ``plan`` (a query)."""
    codes = [t.test_code for c in plan.containers for t in c.tests]
    return ChairChecks(
        requirements=preparation.plan_requirements(uow, codes),
        volume=blood_volume.volume_check(uow, clock, encounter_id, plan, policy),
    )
