"""Queries of timed and serial draws: the series steps of the compendium, patients' steps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time

from sqlalchemy import RowMapping, delete, func, insert, select, update

from labdesk.adapters.orm import ordered_tests
from labdesk.adapters.orm.board import board_dirty
from labdesk.adapters.orm.timed_draws import series_steps, timed_draws
from labdesk.adapters.repositories import _Repository
from labdesk.domain.order import TestStatus
from labdesk.domain.overdue import posix
from labdesk.domain.series import Anchor, SeriesStep, TimedDraw, Window


def _step(row: RowMapping) -> SeriesStep:
    clock = row["clock_time"]
    return SeriesStep(
        series_code=row["series_code"],
        series_name=row["series_name"],
        label=row["label"],
        step_no=row["step_no"],
        step_label=row["step_label"],
        test_code=row["test_code"],
        anchor=Anchor(row["anchor"]),
        offset_min=row["offset_min"],
        clock_time=time.fromisoformat(clock) if clock else None,
        window_before_min=row["window_before_min"],
        window_after_min=row["window_after_min"],
        reason_required=row["reason_required"],
    )


def _draw(row: RowMapping) -> TimedDraw:
    return TimedDraw(
        id=row["id"],
        patient_id=row["patient_id"],
        order_id=row["order_id"],
        series_code=row["series_code"],
        step_no=row["step_no"],
        ordered_test_id=row["ordered_test_id"],
        time_point=row["time_point"],
        window=Window(row["due_at"], row["opens_at"], row["closes_at"]),
        reason_required=row["reason_required"],
        scheduled_at=row["scheduled_at"],
        specimen_id=row["specimen_id"],
        collected_at=row["collected_at"],
        out_of_window=row["out_of_window"],
        deviation=row["deviation"],
        timing_reason=row["timing_reason"],
    )


class TimedDrawRepository(_Repository):
    """Series steps and scheduled timed draws (the caller commits)."""

    # ------------------------------------------------------------ compendium

    def count_steps(self) -> int:
        """How many series steps the compendium holds."""
        return int(self.session.scalar(select(func.count()).select_from(series_steps)) or 0)

    def replace_series(self, steps: Sequence[SeriesStep]) -> None:
        """Store ``steps``, replacing every step of the series they name."""
        codes = {s.series_code for s in steps}
        tests = {s.test_code for s in steps}
        if codes:
            self.session.execute(delete(series_steps).where(series_steps.c.series_code.in_(codes)))
            # a test moved from another series to one of these
            self.session.execute(delete(series_steps).where(series_steps.c.test_code.in_(tests)))
        for s in steps:
            self.session.execute(
                insert(series_steps).values(
                    series_code=s.series_code,
                    step_no=s.step_no,
                    series_name=s.series_name,
                    label=s.label,
                    step_label=s.step_label,
                    test_code=s.test_code,
                    anchor=s.anchor.value,
                    offset_min=s.offset_min,
                    clock_time=s.clock_time.strftime("%H:%M") if s.clock_time else "",
                    window_before_min=s.window_before_min,
                    window_after_min=s.window_after_min,
                    reason_required=s.reason_required,
                )
            )

    def all_steps(self) -> list[SeriesStep]:
        """Every series step, by series and step."""
        rows = self.session.execute(
            select(series_steps).order_by(series_steps.c.series_code, series_steps.c.step_no)
        )
        return [_step(r._mapping) for r in rows]

    def steps_for_tests(self, test_codes: Iterable[str]) -> dict[str, SeriesStep]:
        """The series step each of ``test_codes`` is, by test code (others left out)."""
        codes = set(test_codes)
        if not codes:
            return {}
        rows = self.session.execute(select(series_steps).where(series_steps.c.test_code.in_(codes)))
        return {r.test_code: _step(r._mapping) for r in rows}

    def steps_of(self, series_code: str) -> list[SeriesStep]:
        """The steps of one series, in order."""
        rows = self.session.execute(
            select(series_steps)
            .where(series_steps.c.series_code == series_code)
            .order_by(series_steps.c.step_no)
        )
        return [_step(r._mapping) for r in rows]

    # ------------------------------------------------------------ patients' steps

    def add(self, draw: TimedDraw) -> None:
        """Store a scheduled (or just drawn) step."""
        self.session.execute(
            insert(timed_draws).values(
                patient_id=draw.patient_id,
                order_id=draw.order_id,
                series_code=draw.series_code,
                step_no=draw.step_no,
                ordered_test_id=draw.ordered_test_id,
                time_point=draw.time_point,
                due_at=draw.window.due_at,
                opens_at=draw.window.opens_at,
                closes_at=draw.window.closes_at,
                reason_required=draw.reason_required,
                scheduled_at=draw.scheduled_at,
                specimen_id=draw.specimen_id,
                collected_at=draw.collected_at,
                out_of_window=draw.out_of_window,
                deviation=draw.deviation[:40],
                timing_reason=draw.timing_reason[:200],
            )
        )
        # Its window is the test's collection deadline on the board (labdesk.domain.overdue
        # collect_by_s): the board re-evaluates the test.
        self.session.execute(insert(board_dirty).values(ordered_test_id=draw.ordered_test_id))

    def open_windows(self, ordered_test_ids: Sequence[int] | None = None) -> dict[int, float]:
        """Window close (POSIX s) of the scheduled steps not drawn yet, by ordered test.

        ``None``: every such step (a short list: today's pending series steps).
        """
        query = select(timed_draws.c.ordered_test_id, timed_draws.c.closes_at).where(
            timed_draws.c.specimen_id.is_(None)
        )
        if ordered_test_ids is not None:
            ids = set(ordered_test_ids)
            if not ids:
                return {}
            query = query.where(timed_draws.c.ordered_test_id.in_(ids))
        return {int(t): posix(at) for t, at in self.session.execute(query)}

    def mark_collected(
        self,
        ordered_test_id: int,
        *,
        specimen_id: int,
        collected_at: datetime,
        out_of_window: bool,
        deviation: str,
        timing_reason: str,
    ) -> None:
        """Record the specimen that drew a scheduled step."""
        self.session.execute(
            update(timed_draws)
            .where(timed_draws.c.ordered_test_id == ordered_test_id)
            .values(
                specimen_id=specimen_id,
                collected_at=collected_at,
                out_of_window=out_of_window,
                deviation=deviation[:40],
                timing_reason=timing_reason[:200],
            )
        )

    def for_tests(self, ordered_test_ids: Iterable[int]) -> dict[int, TimedDraw]:
        """The scheduled steps of these ordered tests, by ordered test id."""
        ids = set(ordered_test_ids)
        if not ids:
            return {}
        rows = self.session.execute(
            select(timed_draws).where(timed_draws.c.ordered_test_id.in_(ids))
        )
        return {r.ordered_test_id: _draw(r._mapping) for r in rows}

    def for_specimens(self, specimen_ids: Iterable[int]) -> list[TimedDraw]:
        """The steps these specimens drew, by step."""
        ids = set(specimen_ids)
        if not ids:
            return []
        rows = self.session.execute(
            select(timed_draws)
            .where(timed_draws.c.specimen_id.in_(ids))
            .order_by(timed_draws.c.step_no)
        )
        return [_draw(r._mapping) for r in rows]

    def waiting(self, patient_ids: Iterable[int] | None = None) -> list[TimedDraw]:
        """Scheduled steps not drawn yet whose test is still pending, soonest first."""
        query = (
            select(timed_draws)
            .join(ordered_tests, ordered_tests.c.id == timed_draws.c.ordered_test_id)
            .where(timed_draws.c.specimen_id.is_(None))
            .where(ordered_tests.c.status == TestStatus.ORDERED.value)
            .order_by(timed_draws.c.due_at, timed_draws.c.id)
        )
        if patient_ids is not None:
            query = query.where(timed_draws.c.patient_id.in_(set(patient_ids)))
        return [_draw(r._mapping) for r in self.session.execute(query)]
