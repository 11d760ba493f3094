"""The print queue: persisted jobs, claimed atomically so no job is ever sent twice."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import defer

from labdesk.adapters import orm
from labdesk.adapters.repositories import _Repository
from labdesk.domain.order import OrderedTest
from labdesk.domain.printing import ClaimedJob, PrintJob, PrintJobStatus
from labdesk.domain.specimen import Specimen

_jobs = orm.print_jobs


class PrintQueueRepository(_Repository):
    """Print jobs and the state changes of the spooler (the caller commits)."""

    def add(self, job: PrintJob) -> None:
        """Stage a new job."""
        self.session.add(job)

    def get(self, job_id: int) -> PrintJob | None:
        """Job by primary key."""
        return self.session.get(PrintJob, job_id)

    def due_ids(
        self,
        now: datetime,
        station_code: str | None,
        limit: int,
        *,
        after_id: int = 0,
    ) -> list[int]:
        """Ids above ``after_id`` of queued jobs whose next attempt is due, oldest first."""
        stmt = (
            select(_jobs.c.id)
            .where(_jobs.c.status == PrintJobStatus.QUEUED)
            .where(or_(_jobs.c.next_attempt_at.is_(None), _jobs.c.next_attempt_at <= now))
            .order_by(_jobs.c.id)
            .limit(limit)
        )
        if after_id:
            stmt = stmt.where(_jobs.c.id > after_id)
        if station_code is not None:
            stmt = stmt.where(_jobs.c.station_code == station_code)
        return [int(job_id) for job_id in self.session.scalars(stmt)]

    def claim(
        self, job_id: int, now: datetime, *, skip_printers: Collection[str] = ()
    ) -> ClaimedJob | None:
        """Move a due job from queued to sent; only the one caller that did it gets it.

        Returns:
            What to send, or None when the job was not queued and due (or its printer is
            in ``skip_printers``).
        """
        claimed = self.claim_many([job_id], now, skip_printers=skip_printers)
        return claimed[0] if claimed else None

    def claim_many(
        self, job_ids: Sequence[int], now: datetime, *, skip_printers: Collection[str] = ()
    ) -> list[ClaimedJob]:
        """Claim every due queued job of ``job_ids``; return those this caller got, in order.

        The conditional UPDATE is the lock: on PostgreSQL a second claimer waits for the
        row locks, re-checks ``status`` and updates nothing; on SQLite writers are
        serialised by BEGIN IMMEDIATE. Commit before sending.
        """
        if not job_ids:
            return []
        stmt = (
            update(_jobs)
            .where(_jobs.c.id.in_(list(job_ids)))
            .where(_jobs.c.status == PrintJobStatus.QUEUED)
            .where(or_(_jobs.c.next_attempt_at.is_(None), _jobs.c.next_attempt_at <= now))
            # last_error is cleared: a 'sent' job without one is in flight (or was, at a crash).
            .values(
                status=PrintJobStatus.SENT,
                attempts=_jobs.c.attempts + 1,
                sent_at=now,
                last_error="",
            )
            .returning(
                _jobs.c.id,
                _jobs.c.printer_uri,
                _jobs.c.kind,
                _jobs.c.attempts,
                _jobs.c.payload,
                _jobs.c.preview_png,
            )
        )
        if skip_printers:
            stmt = stmt.where(_jobs.c.printer_uri.not_in(list(skip_printers)))
        rows = self.session.execute(stmt, execution_options={"synchronize_session": False})
        found = {int(row[0]): ClaimedJob(*row) for row in rows}
        return [found[job_id] for job_id in job_ids if job_id in found]

    def finish(
        self,
        job_ids: int | Sequence[int],
        status: PrintJobStatus,
        *,
        last_error: str = "",
        next_attempt_at: datetime | None = None,
    ) -> int:
        """Record the outcome of claimed (sent) jobs; returns how many were in 'sent'."""
        ids = [job_ids] if isinstance(job_ids, int) else list(job_ids)
        stmt = (
            update(_jobs)
            .where(_jobs.c.id.in_(ids))
            .where(_jobs.c.status == PrintJobStatus.SENT)
            .values(status=status, last_error=last_error[:400], next_attempt_at=next_attempt_at)
        )
        return self._rowcount(stmt)

    def postpone(self, printer_uri: str, until: datetime, reason: str) -> None:
        """Hold every queued job for ``printer_uri`` until ``until`` (the printer is offline)."""
        stmt = (
            update(_jobs)
            .where(_jobs.c.printer_uri == printer_uri)
            .where(_jobs.c.status == PrintJobStatus.QUEUED)
            .where(or_(_jobs.c.next_attempt_at.is_(None), _jobs.c.next_attempt_at < until))
            .values(next_attempt_at=until, last_error=reason[:400])
        )
        self._rowcount(stmt)

    def recent(self, station_code: str | None, limit: int) -> Sequence[tuple[PrintJob, str | None]]:
        """Newest jobs first with their specimen's accession, without payloads."""
        stmt = (
            select(PrintJob, orm.specimens.c.accession)
            .outerjoin(orm.specimens, orm.specimens.c.id == _jobs.c.specimen_id)
            .options(
                defer(PrintJob.payload),  # type: ignore[arg-type]
                defer(PrintJob.preview_png),  # type: ignore[arg-type]
            )
            .order_by(_jobs.c.id.desc())
            .limit(limit)
        )
        if station_code is not None:
            stmt = stmt.where(_jobs.c.station_code == station_code)
        return [(row[0], row[1]) for row in self.session.execute(stmt)]

    def by_ids(self, job_ids: Sequence[int]) -> Sequence[tuple[PrintJob, str | None]]:
        """Jobs ``job_ids`` (any order) with their specimen's accession."""
        if not job_ids:
            return []
        stmt = (
            select(PrintJob, orm.specimens.c.accession)
            .outerjoin(orm.specimens, orm.specimens.c.id == _jobs.c.specimen_id)
            .where(_jobs.c.id.in_(list(job_ids)))
            .options(defer(PrintJob.payload))  # type: ignore[arg-type]
        )
        return [(row[0], row[1]) for row in self.session.execute(stmt)]

    def set_preview(self, job_id: int, preview_png: bytes) -> None:
        """Store a preview rendered after the job was sent."""
        self._rowcount(update(_jobs).where(_jobs.c.id == job_id).values(preview_png=preview_png))

    def specimens(self, accessions: Sequence[str]) -> dict[str, Specimen]:
        """The specimens to label, by accession (one index probe each, one statement)."""
        stmt = select(Specimen).where(orm.specimens.c.accession.in_(list(accessions)))
        return {specimen.accession: specimen for specimen in self.session.scalars(stmt)}

    def label_tests(self, specimen_ids: Sequence[int]) -> dict[int, list[OrderedTest]]:
        """The ordered tests each specimen carries, oldest first (one statement)."""
        stmt = (
            select(OrderedTest)
            .where(orm.ordered_tests.c.specimen_id.in_(list(specimen_ids)))
            .order_by(orm.ordered_tests.c.id)
        )
        found: dict[int, list[OrderedTest]] = {i: [] for i in specimen_ids}
        for test in self.session.scalars(stmt):
            found[test.specimen_id or 0].append(test)
        return found

    def reprints_of(self, job_id: int) -> int:
        """How many reprint jobs point at original job ``job_id``."""
        stmt = select(func.count()).select_from(_jobs).where(_jobs.c.reprint_of_id == job_id)
        return int(self.session.scalar(stmt) or 0)

    def count_by_status(self, station_code: str | None) -> dict[PrintJobStatus, int]:
        """How many jobs are in each status."""
        stmt = select(_jobs.c.status, func.count()).group_by(_jobs.c.status)
        if station_code is not None:
            stmt = stmt.where(_jobs.c.station_code == station_code)
        return {PrintJobStatus(status): int(n) for status, n in self.session.execute(stmt)}

    def _rowcount(self, stmt: Any) -> int:
        result = self.session.execute(stmt, execution_options={"synchronize_session": False})
        assert isinstance(result, CursorResult)
        return int(result.rowcount)
