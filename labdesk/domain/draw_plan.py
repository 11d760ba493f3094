"""Draw plan: a patient's pending tests consolidated into containers, in CLSI order of draw.

Pure domain logic (stdlib only). Rules, from the clinical reference (CLSI GP41, H21):

* Tests share a tube when they use the same container type and the same tube-level
  handling: transport temperature, on ice, protect from light, do not refrigerate. A tube
  travels at one temperature and in one wrapping, so those decide what can share it.
  Fasting is a patient condition, not a tube one, so it never splits a tube.
* A tube holds tests until their preferred volumes reach its nominal volume; then the
  next tube of that type is opened (first-fit decreasing, which gives the fewest tubes for
  the volumes a clinic orders).
* Sterile and chain-of-custody tests never share a container, not even with each other.
* Blood tubes are listed by ``draw_rank`` (culture, citrate, serum, heparin, EDTA,
  fluoride); urine and other containers are listed apart, after the blood.
* A test that is unknown, inactive or has no container mapping becomes a visible
  :class:`PlanProblem`; it is never silently left without a label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from labdesk.domain.catalog import (
    ContainerType,
    Handling,
    SpecimenCategory,
    TemperatureClass,
    TestDefinition,
)

_EPSILON = 1e-9

#: Handling that decides whether two tests may share one tube.
TUBE_HANDLING = frozenset(
    {Handling.ON_ICE, Handling.PROTECT_FROM_LIGHT, Handling.DO_NOT_REFRIGERATE}
)
#: Handling that gives a test a container of its own.
SOLO_HANDLING = frozenset({Handling.STERILE, Handling.CHAIN_OF_CUSTODY})


@dataclass(frozen=True)
class PlanRequest:
    """One pending ordered test to place in the plan."""

    ordered_test_id: int
    test_code: str
    stat: bool = False


@dataclass(frozen=True)
class PlannedTest:
    """A test carried by a planned container."""

    ordered_test_id: int
    test_code: str
    test_name: str
    preferred_volume_ml: float
    minimum_volume_ml: float
    stat: bool = False


@dataclass(frozen=True)
class PlanProblem:
    """A test that cannot be planned, with what the user should do about it."""

    ordered_test_id: int
    test_code: str
    message: str
    hint: str


@dataclass(frozen=True)
class GroupKey:
    """What tests must have in common to share one container."""

    container_code: str
    temperature: TemperatureClass
    handling: frozenset[Handling]
    solo: bool


@dataclass(frozen=True)
class PlannedContainer:
    """One container to fill, in its place in the order of draw."""

    position: int
    container_code: str
    container_name: str
    cap_colour: str
    cap_hex: str
    additive: str
    inversions: str
    draw_rank: int
    category: SpecimenCategory
    nominal_volume_ml: float
    temperature: TemperatureClass
    tests: tuple[PlannedTest, ...]
    handling: tuple[Handling, ...]

    @property
    def ordered_test_ids(self) -> tuple[int, ...]:
        """Ids of the ordered tests this container carries."""
        return tuple(t.ordered_test_id for t in self.tests)

    @property
    def test_codes(self) -> tuple[str, ...]:
        """Codes of the tests, in order."""
        return tuple(t.test_code for t in self.tests)

    @property
    def preferred_volume_ml(self) -> float:
        """Sum of the tests' preferred volumes."""
        return round(sum(t.preferred_volume_ml for t in self.tests), 3)

    @property
    def minimum_volume_ml(self) -> float:
        """Sum of the tests' minimum volumes: less than this is not enough (QNS)."""
        return round(sum(t.minimum_volume_ml for t in self.tests), 3)

    @property
    def stat(self) -> bool:
        """True when any carried test is STAT."""
        return any(t.stat for t in self.tests)

    @property
    def is_blood(self) -> bool:
        """True for a blood tube or bottle."""
        return self.category is SpecimenCategory.BLOOD

    @property
    def is_citrate(self) -> bool:
        """True for a sodium citrate (coagulation) tube."""
        return "citrate" in self.additive.lower()

    @property
    def chain_of_custody(self) -> bool:
        """True for a forensic chain-of-custody collection."""
        return Handling.CHAIN_OF_CUSTODY in self.handling

    @property
    def handling_labels(self) -> tuple[str, ...]:
        """Handling instructions as the medical assistant reads them."""
        return tuple(h.label for h in self.handling)


@dataclass(frozen=True)
class DrawPlan:
    """The containers to fill for one patient, and the tests that could not be planned."""

    blood: tuple[PlannedContainer, ...]
    urine: tuple[PlannedContainer, ...]
    other: tuple[PlannedContainer, ...]
    problems: tuple[PlanProblem, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def containers(self) -> tuple[PlannedContainer, ...]:
        """Every container: blood in order of draw, then urine, then others."""
        return (*self.blood, *self.urine, *self.other)

    @property
    def total_blood_volume_ml(self) -> float:
        """Blood drawn: evacuated tubes fill to their nominal volume."""
        return round(sum(c.nominal_volume_ml for c in self.blood), 3)

    @property
    def fasting_required(self) -> bool:
        """True when any planned test needs a fasting patient."""
        return any(Handling.FASTING in c.handling for c in self.containers)

    @property
    def discard_tube_advised(self) -> bool:
        """True when a citrate tube is the first blood tube (winged sets underfill it)."""
        return bool(self.blood) and self.blood[0].is_citrate

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to collect and nothing to report."""
        return not self.containers and not self.problems


DISCARD_NOTE_WINGED = (
    "Citrate is the first tube and a winged set is in use: draw a discard tube (plain or "
    "citrate) first and throw it away, so the air in the tubing does not underfill the "
    "citrate tube."
)
DISCARD_NOTE_IF_WINGED = (
    "Citrate is the first tube: if you use a winged (butterfly) set, draw a discard tube "
    "first and throw it away."
)
FASTING_NOTE = "Fasting test ordered: ask whether the patient has fasted and record it."


def build_draw_plan(
    requests: Sequence[PlanRequest],
    tests: Mapping[str, TestDefinition],
    containers: Mapping[str, ContainerType],
    *,
    winged_set: bool = False,
    fasting_note: bool = True,
) -> DrawPlan:
    """Consolidate ``requests`` into the fewest containers, in order of draw.

    Args:
        requests: pending ordered tests (order of the list is kept inside a tube).
        tests: catalog test definitions by code.
        containers: catalog container types by code.
        winged_set: a butterfly set is used (makes the discard-tube note definite).
        fasting_note: add the "ask whether the patient has fasted" note for a fasting test
            (False when the compendium's preparation question already asks it).
    """
    problems: list[PlanProblem] = []
    groups: dict[GroupKey, list[tuple[PlanRequest, TestDefinition]]] = {}
    for request in requests:
        definition = tests.get(request.test_code)
        problem = _check(request, definition, containers)
        if problem is not None:
            problems.append(problem)
            continue
        assert definition is not None
        groups.setdefault(group_key(definition), []).append((request, definition))
    planned: list[tuple[ContainerType, GroupKey, list[tuple[PlanRequest, TestDefinition]]]] = []
    for key, members in groups.items():
        container = containers[key.container_code]
        for tube in _pack(members, container.nominal_volume_ml, solo=key.solo):
            planned.append((container, key, tube))
    planned.sort(key=lambda p: (_section(p[0].category), p[0].draw_rank, p[0].code, _first(p[2])))
    built = [_container(i, c, k, m) for i, (c, k, m) in enumerate(planned, start=1)]
    plan = DrawPlan(
        blood=tuple(c for c in built if c.category is SpecimenCategory.BLOOD),
        urine=tuple(c for c in built if c.category is SpecimenCategory.URINE),
        other=tuple(c for c in built if c.category is SpecimenCategory.OTHER),
        problems=tuple(problems),
    )
    notes = []
    if plan.discard_tube_advised:
        notes.append(DISCARD_NOTE_WINGED if winged_set else DISCARD_NOTE_IF_WINGED)
    if plan.fasting_required and fasting_note:
        notes.append(FASTING_NOTE)
    return DrawPlan(plan.blood, plan.urine, plan.other, plan.problems, tuple(notes))


def group_key(definition: TestDefinition) -> GroupKey:
    """What a test must share with another to go in the same container."""
    flags = frozenset(definition.handling_flags)
    return GroupKey(
        container_code=definition.container_code,
        temperature=definition.transport_temperature,
        handling=flags & TUBE_HANDLING,
        solo=bool(flags & SOLO_HANDLING),
    )


def may_share(definitions: Iterable[TestDefinition]) -> bool:
    """True when the tests may all travel in one container (same key, none solo)."""
    keys = [group_key(d) for d in definitions]
    if len(keys) <= 1:
        return True
    return len(set(keys)) == 1 and not keys[0].solo


def _check(
    request: PlanRequest,
    definition: TestDefinition | None,
    containers: Mapping[str, ContainerType],
) -> PlanProblem | None:
    code = request.test_code
    if definition is None:
        return PlanProblem(
            request.ordered_test_id,
            code,
            f"Test '{code}' is not in the catalog, so no container or label can be made for it.",
            "Ask the lab to add it to the catalog, or cancel it and order the right test.",
        )
    if not definition.active:
        return PlanProblem(
            request.ordered_test_id,
            code,
            f"Test '{code}' ({definition.name}) is no longer offered by the lab.",
            "Cancel it with a reason and ask the ordering provider for a replacement.",
        )
    container = containers.get(definition.container_code)
    if container is None:
        return PlanProblem(
            request.ordered_test_id,
            code,
            f"Test '{code}' ({definition.name}) has no container mapping "
            f"('{definition.container_code}' is unknown).",
            "Ask the lab to fix the catalog; do not label a tube for it by hand.",
        )
    if definition.minimum_volume_ml > container.nominal_volume_ml + _EPSILON:
        return PlanProblem(
            request.ordered_test_id,
            code,
            f"Test '{code}' needs at least {definition.minimum_volume_ml:g} mL but its "
            f"container ({container.name}) holds {container.nominal_volume_ml:g} mL.",
            "Ask the lab to fix the catalog volumes.",
        )
    return None


def _pack(
    members: list[tuple[PlanRequest, TestDefinition]], capacity: float, *, solo: bool
) -> list[list[tuple[PlanRequest, TestDefinition]]]:
    """First-fit decreasing by preferred volume; a test bigger than the tube goes alone."""
    if solo:
        return [[m] for m in members]
    order = {id(m): i for i, m in enumerate(members)}
    tubes: list[list[tuple[PlanRequest, TestDefinition]]] = []
    used: list[float] = []
    for member in sorted(members, key=lambda m: -m[1].preferred_volume_ml):
        volume = member[1].preferred_volume_ml
        for i, filled in enumerate(used):
            if filled + volume <= capacity + _EPSILON:
                tubes[i].append(member)
                used[i] = filled + volume
                break
        else:
            tubes.append([member])
            used.append(volume)
    for tube in tubes:
        tube.sort(key=lambda m: order[id(m)])
    return tubes


def _section(category: SpecimenCategory) -> int:
    return {SpecimenCategory.BLOOD: 0, SpecimenCategory.URINE: 1}.get(category, 2)


def _first(members: list[tuple[PlanRequest, TestDefinition]]) -> int:
    return min(r.ordered_test_id for r, _ in members)


def _container(
    position: int,
    container: ContainerType,
    key: GroupKey,
    members: list[tuple[PlanRequest, TestDefinition]],
) -> PlannedContainer:
    handling: set[Handling] = set()
    for _, definition in members:
        handling.update(definition.handling_flags)
    return PlannedContainer(
        position=position,
        container_code=container.code,
        container_name=container.name,
        cap_colour=container.cap_colour,
        cap_hex=container.cap_hex,
        additive=container.additive,
        inversions=container.inversions,
        draw_rank=container.draw_rank,
        category=container.category,
        nominal_volume_ml=container.nominal_volume_ml,
        temperature=key.temperature,
        tests=tuple(
            PlannedTest(
                ordered_test_id=r.ordered_test_id,
                test_code=d.code,
                test_name=d.name,
                preferred_volume_ml=d.preferred_volume_ml,
                minimum_volume_ml=d.minimum_volume_ml,
                stat=r.stat,
            )
            for r, d in members
        ),
        handling=tuple(h for h in Handling if h in handling),
    )
