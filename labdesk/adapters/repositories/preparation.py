"""Queries of patient preparation, blood volume, collector and witness (the caller commits)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update

from labdesk.adapters import orm
from labdesk.adapters.orm.preparation import (
    collection_witnesses,
    patient_weights,
    pediatric_tubes,
    preparation_answers,
    preparation_rules,
    volume_prioritisations,
)
from labdesk.adapters.orm.station import missed_collections
from labdesk.adapters.repositories import _Repository
from labdesk.domain.blood_volume import PediatricTube
from labdesk.domain.catalog import SpecimenCategory
from labdesk.domain.preparation import PreparationRule


@dataclass(frozen=True)
class AnswerRow:
    """One recorded preparation answer."""

    ordered_test_id: int
    specimen_id: int | None
    kind: str
    question: str
    answer: str
    met: bool
    comment: str
    recorded_at: datetime
    encounter_id: int = 0
    """The visit it was asked in."""


@dataclass(frozen=True)
class WeightRow:
    """The patient's newest weight, with who entered it and when."""

    weight_kg: float
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class PrioritisationRow:
    """A clinician's decision to draw over the blood-volume limit."""

    clinician: str
    reason: str
    planned_ml: float
    allowed_ml: float
    excess_ml: float
    recorded_at: datetime


@dataclass(frozen=True)
class WitnessRow:
    """Who recorded, drew and observed a collection."""

    recorded_by_id: int
    collector_id: int
    observer_id: int | None


class PreparationRepository(_Repository):
    """Compendium preparation and pediatric rows, chair answers, weights and witnesses."""

    # ---------------------------------------------------------------- compendium

    def count_rules(self) -> int:
        """Preparation rows stored."""
        return int(self.session.scalar(select(func.count()).select_from(preparation_rules)) or 0)

    def replace_rules(self, rules: Iterable[PreparationRule]) -> None:
        """Store ``rules``, replacing the row of each test they name."""
        for rule in rules:
            self.session.execute(
                delete(preparation_rules).where(preparation_rules.c.test_code == rule.test_code)
            )
            self.session.execute(
                insert(preparation_rules).values(
                    test_code=rule.test_code,
                    fasting_hours=rule.fasting_hours,
                    last_dose_hours=rule.last_dose_hours,
                    first_morning_urine=rule.first_morning_urine,
                    question=rule.question,
                    met_when=rule.met_when,
                )
            )

    def rules_for(self, codes: Iterable[str]) -> dict[str, PreparationRule]:
        """The preparation rules of these tests (tests without one are absent)."""
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        r = preparation_rules.c
        rows = self.session.execute(select(preparation_rules).where(r.test_code.in_(wanted)))
        return {
            row.test_code: PreparationRule(
                test_code=row.test_code,
                fasting_hours=row.fasting_hours,
                last_dose_hours=row.last_dose_hours,
                first_morning_urine=bool(row.first_morning_urine),
                question=row.question,
                met_when=row.met_when,
            )
            for row in rows
        }

    def count_pediatric(self) -> int:
        """Pediatric tube rows stored."""
        return int(self.session.scalar(select(func.count()).select_from(pediatric_tubes)) or 0)

    def replace_pediatric(self, tubes: Iterable[PediatricTube]) -> None:
        """Store ``tubes``, replacing the row of each test they name."""
        for tube in tubes:
            self.session.execute(
                delete(pediatric_tubes).where(pediatric_tubes.c.test_code == tube.test_code)
            )
            self.session.execute(
                insert(pediatric_tubes).values(
                    test_code=tube.test_code,
                    container_code=tube.container_code,
                    volume_ml=tube.volume_ml,
                )
            )

    def pediatric_for(self, codes: Iterable[str]) -> dict[str, PediatricTube]:
        """The pediatric tubes of these tests (tests without one are absent)."""
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        p = pediatric_tubes.c
        rows = self.session.execute(select(pediatric_tubes).where(p.test_code.in_(wanted)))
        return {
            row.test_code: PediatricTube(row.test_code, row.container_code, row.volume_ml)
            for row in rows
        }

    # ---------------------------------------------------------------- answers at the chair

    def add_answer(
        self,
        *,
        encounter_id: int,
        ordered_test_id: int,
        kind: str,
        question: str,
        answer: str,
        met: bool,
        comment: str,
        recorded_at: datetime,
        recorded_by_id: int,
    ) -> None:
        """Record one answer for an ordered test (its specimen is linked after the write)."""
        self.session.execute(
            insert(preparation_answers).values(
                encounter_id=encounter_id,
                ordered_test_id=ordered_test_id,
                kind=kind,
                question=question[:200],
                answer=answer[:200],
                met=met,
                comment=comment[:400],
                recorded_at=recorded_at,
                recorded_by_id=recorded_by_id,
            )
        )

    def link_answers(self, specimen_by_test: Mapping[int, int]) -> None:
        """Put the answers of each ordered test on the specimen that now carries it."""
        a = preparation_answers.c
        for test_id, specimen_id in specimen_by_test.items():
            self.session.execute(
                update(preparation_answers)
                .where(a.ordered_test_id == test_id, a.specimen_id.is_(None))
                .values(specimen_id=specimen_id)
            )

    def answers_for_tests(self, ordered_test_ids: Iterable[int]) -> list[AnswerRow]:
        """Answers recorded for these ordered tests, oldest first."""
        ids = sorted(set(ordered_test_ids))
        if not ids:
            return []
        a = preparation_answers.c
        stmt = select(preparation_answers).where(a.ordered_test_id.in_(ids)).order_by(a.id)
        return [self._answer(row) for row in self.session.execute(stmt)]

    def answers_for_specimen(self, specimen_id: int) -> list[AnswerRow]:
        """Answers recorded on a specimen, oldest first."""
        a = preparation_answers.c
        stmt = select(preparation_answers).where(a.specimen_id == specimen_id).order_by(a.id)
        return [self._answer(row) for row in self.session.execute(stmt)]

    @staticmethod
    def _answer(row: object) -> AnswerRow:
        return AnswerRow(
            ordered_test_id=row.ordered_test_id,  # type: ignore[attr-defined]
            specimen_id=row.specimen_id,  # type: ignore[attr-defined]
            kind=row.kind,  # type: ignore[attr-defined]
            question=row.question,  # type: ignore[attr-defined]
            answer=row.answer,  # type: ignore[attr-defined]
            met=bool(row.met),  # type: ignore[attr-defined]
            comment=row.comment,  # type: ignore[attr-defined]
            recorded_at=row.recorded_at,  # type: ignore[attr-defined]
            encounter_id=row.encounter_id,  # type: ignore[attr-defined]
        )

    def missed_note(self, ordered_test_id: int) -> tuple[str, datetime, str] | None:
        """``(reason, when, by whom)`` of the newest 'not collected' of a test, or None."""
        m = missed_collections.c
        u = orm.users.c
        stmt = (
            select(m.reason, m.recorded_at, u.display_name)
            .join(orm.users, u.id == m.recorded_by_id)
            .where(m.ordered_test_id == ordered_test_id)
            .order_by(m.recorded_at.desc(), m.id.desc())
            .limit(1)
        )
        row = self.session.execute(stmt).first()
        return None if row is None else (row[0], row[1], row[2])

    def missed_notes(self, ordered_test_ids: Sequence[int]) -> dict[int, str]:
        """The newest 'not collected' reason of each of these tests that has one."""
        ids = sorted(set(ordered_test_ids))
        if not ids:
            return {}
        m = missed_collections.c
        stmt = (
            select(m.ordered_test_id, m.reason)
            .where(m.ordered_test_id.in_(ids))
            .order_by(m.ordered_test_id, m.recorded_at, m.id)
        )
        return {int(test_id): str(reason) for test_id, reason in self.session.execute(stmt)}

    # ---------------------------------------------------------------- weight and volume

    def add_weight(
        self,
        *,
        patient_id: int,
        weight_kg: float,
        encounter_id: int | None,
        recorded_at: datetime,
        recorded_by_id: int,
    ) -> None:
        """Record a weight entered at the chair."""
        self.session.execute(
            insert(patient_weights).values(
                patient_id=patient_id,
                weight_kg=weight_kg,
                encounter_id=encounter_id,
                recorded_at=recorded_at,
                recorded_by_id=recorded_by_id,
            )
        )

    def latest_weight(self, patient_id: int, since: datetime) -> WeightRow | None:
        """The newest weight of the patient recorded after ``since``."""
        w = patient_weights.c
        u = orm.users.c
        stmt = (
            select(w.weight_kg, w.recorded_at, u.display_name)
            .join(orm.users, u.id == w.recorded_by_id)
            .where(w.patient_id == patient_id, w.recorded_at > since)
            .order_by(w.recorded_at.desc(), w.id.desc())
            .limit(1)
        )
        row = self.session.execute(stmt).first()
        return None if row is None else WeightRow(float(row[0]), row[1], row[2])

    def blood_draws(self, patient_id: int, since: datetime) -> list[tuple[datetime, float]]:
        """``(collected_at, mL)`` of the patient's blood specimens collected after ``since``.

        The volume is the one recorded at the chair, else the tube's nominal volume.
        """
        s = orm.specimens.c
        c = orm.container_types.c
        stmt = (
            select(s.collected_at, func.coalesce(s.volume_ml, c.nominal_volume_ml))
            .join(orm.container_types, c.code == s.container_code)
            .where(
                s.patient_id == patient_id,
                s.collected_at > since,
                c.category == SpecimenCategory.BLOOD,
            )
        )
        return [(at, float(ml)) for at, ml in self.session.execute(stmt)]

    def add_prioritisation(
        self,
        *,
        encounter_id: int,
        clinician: str,
        reason: str,
        planned_ml: float,
        allowed_ml: float,
        excess_ml: float,
        recorded_at: datetime,
        recorded_by_id: int,
    ) -> None:
        """Record a clinician's decision to draw over the limit."""
        self.session.execute(
            insert(volume_prioritisations).values(
                encounter_id=encounter_id,
                clinician=clinician[:120],
                reason=reason[:400],
                planned_ml=planned_ml,
                allowed_ml=allowed_ml,
                excess_ml=excess_ml,
                recorded_at=recorded_at,
                recorded_by_id=recorded_by_id,
            )
        )

    def prioritisations(self, encounter_id: int) -> list[PrioritisationRow]:
        """The visit's over-limit decisions, oldest first."""
        v = volume_prioritisations.c
        stmt = (
            select(v.clinician, v.reason, v.planned_ml, v.allowed_ml, v.excess_ml, v.recorded_at)
            .where(v.encounter_id == encounter_id)
            .order_by(v.id)
        )
        return [PrioritisationRow(*row) for row in self.session.execute(stmt)]

    # ---------------------------------------------------------------- collector and witness

    def add_witness(
        self, *, specimen_id: int, recorded_by_id: int, collector_id: int, observer_id: int | None
    ) -> None:
        """Record who recorded, drew and observed a collection."""
        self.session.execute(
            insert(collection_witnesses).values(
                specimen_id=specimen_id,
                recorded_by_id=recorded_by_id,
                collector_id=collector_id,
                observer_id=observer_id,
            )
        )

    def witness(self, specimen_id: int) -> WitnessRow | None:
        """Who recorded, drew and observed ``specimen_id`` (None: not recorded)."""
        w = collection_witnesses.c
        stmt = select(w.recorded_by_id, w.collector_id, w.observer_id).where(
            w.specimen_id == specimen_id
        )
        row = self.session.execute(stmt).first()
        return None if row is None else WitnessRow(row[0], row[1], row[2])
