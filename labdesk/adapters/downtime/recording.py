"""The replayed command's unit of work: its first commit carries the replay record.

:class:`~labdesk.adapters.downtime.server.ServerSync` runs each replayed command through
the bus with a :class:`RecordingFactory`: the command's first unit of work gives the
serials pinned offline (:class:`PinnedCounters`), marks the print jobs it queues as printed
at the station, notes the ordered tests it creates (so the station's ids pair with the
server's), and writes the ``replayed_commands`` record (and the review item of an order
placed offline) in the command's own transaction.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import Insert

from labdesk.adapters.orm import print_jobs
from labdesk.adapters.orm.downtime import replayed_commands
from labdesk.adapters.repositories import CounterRepository
from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.order import OrderedTest
from labdesk.domain.printing import PrintJob, PrintJobStatus
from labdesk.downtime.errors import CommandRefused
from labdesk.downtime.outbox import ACCESSION_COUNTER, OutboxEntry
from labdesk.downtime.reconcile import REVIEW_COMMANDS, ConflictKind, record_conflict
from labdesk.downtime.replay import result_ids

APPLIED = "applied"
REFUSED = "refused"
HELD = "held"
"""Kept unsent because it concerns a tube whose collection was refused."""
DIVERGED = "diverged"
"""Had from online (its answer was lost) while the station did it again offline on its own
copy: kept for reconciliation, and what the station did next with that copy is held."""


def write_record(session: Session, record: dict[str, Any]) -> None:
    """Insert or update one ``replayed_commands`` row (its outcome, reason, synced time)."""
    session.execute(_record_upsert(session.get_bind().dialect.name), record)


@functools.cache
def _record_upsert(dialect: str) -> Insert:
    """The replay record's upsert, built once per dialect (the record comes as parameters):
    building it per command cost more than running it on SQLite."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(replayed_commands)
    return stmt.on_conflict_do_update(
        index_elements=[replayed_commands.c.idempotency_key],
        set_={k: stmt.excluded[k] for k in ("outcome", "reason", "synced_at")},
    )


class PinnedCounters(CounterRepository):
    """Counters of a replayed command: its accession serials are the ones taken offline.

    A command with pins that asks for an accession serial it did not take offline is
    refused rather than given a live one (its labels would not match).
    """

    def __init__(self, session: Session, pins: tuple[tuple[str, int], ...]) -> None:
        super().__init__(session)
        self._pins = list(pins)
        self._strict = bool(pins)

    def next_value(self, name: str) -> int:
        """The next pinned serial of counter ``name``, else the live counter."""
        for i, (pinned, serial) in enumerate(self._pins):
            if pinned == name:
                del self._pins[i]
                return serial
        if self._strict and name.startswith(ACCESSION_COUNTER):
            raise CommandRefused(f"the command asked for more {name} serials than it took offline.")
        return super().next_value(name)


class RecordingUnitOfWork(SqlAlchemyUnitOfWork):
    """The replayed command's unit of work: its first commit carries the replay record.

    Its counters give the serials pinned offline, and the print jobs the command queues
    are recorded as printed at the station (at the offline time) so the spooler never
    sends them again. Those jobs are the ones this session inserts (print jobs are only
    ever added through the ORM, ``labdesk.printing.jobs``), noted as each is flushed: most
    commands queue none, and then no statement is spent on them.
    """

    def __init__(
        self,
        inner: UnitOfWorkFactory,
        sessions: sessionmaker[Session],
        record: dict[str, Any],
        pins: tuple[tuple[str, int], ...] = (),
    ) -> None:
        super().__init__(inner.engine, sessions, inner.anchors)
        self._record: dict[str, Any] | None = record
        self._pins = pins
        self.new_tests: list[OrderedTest] = []
        """The ordered tests this command created (an order placed offline), once flushed."""
        self._new_jobs: list[int] = []

    def __enter__(self) -> RecordingUnitOfWork:
        super().__enter__()
        self.counters = PinnedCounters(self.session, self._pins)
        event.listen(self.session, "pending_to_persistent", self._persisted)
        return self

    def _persisted(self, _session: Session, instance: object) -> None:
        if isinstance(instance, OrderedTest):
            self.new_tests.append(instance)
        elif isinstance(instance, PrintJob) and instance.id is not None:
            self._new_jobs.append(instance.id)

    def commit(self) -> None:
        """Write the replay record in the command's transaction, then commit."""
        if self._record is not None:
            record = self._record
            self.session.flush()  # every job the command queued has its id now
            if self._new_jobs:
                self.session.execute(
                    update(print_jobs)
                    .where(
                        print_jobs.c.id.in_(self._new_jobs),
                        print_jobs.c.station_code == record["station"],
                        print_jobs.c.status == PrintJobStatus.QUEUED,
                        print_jobs.c.created_at == record["happened_at"],
                    )
                    .values(
                        status=PrintJobStatus.DONE,
                        sent_at=record["happened_at"],
                        last_error=f"printed at station {record['station']} while offline",
                    )
                )
            write_record(self.session, record)
            if record["command"] in REVIEW_COMMANDS and record["outcome"] == APPLIED:
                record_conflict(
                    self,
                    FixedClock(record["synced_at"]),
                    idempotency_key=record["idempotency_key"],
                    station=record["station"],
                    command=record["command"],
                    happened_at=record["happened_at"],
                    reason=f"Placed offline at {record['station']}: check it against its "
                    "requisition.",
                    kind=ConflictKind.OFFLINE_ORDER,
                )
            self._record = None
        super().commit()


class RecordingFactory:
    """Hands the bus a recording unit of work first, plain ones after (after-commit steps)."""

    def __init__(
        self,
        inner: UnitOfWorkFactory,
        sessions: sessionmaker[Session],
        record: dict[str, Any],
        pins: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self._inner = inner
        self._sessions = sessions
        self._record: dict[str, Any] | None = record
        self._pins = pins
        self._first: RecordingUnitOfWork | None = None

    def __call__(self) -> SqlAlchemyUnitOfWork:
        if self._record is None:
            return self._inner()
        record, self._record = self._record, None
        self._first = RecordingUnitOfWork(self._inner, self._sessions, record, self._pins)
        return self._first

    def created_ids(self, entry: OutboxEntry, result: Any) -> tuple[tuple[str, int], ...]:
        """The server's ids of what ``entry`` created, in the order the station keeps its own
        (an order's tests by test code, as :func:`order_test_ids` reads them on the station)."""
        tests = self._first.new_tests if self._first is not None else []

        def tests_of(order_id: int) -> list[int]:
            mine = sorted(
                (t.test_code, int(t.id)) for t in tests if t.order_id == order_id and t.id
            )
            return [test_id for _code, test_id in mine]

        return result_ids(entry.command_type, result, tests_of)
