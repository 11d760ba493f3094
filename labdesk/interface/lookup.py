"""What matching reads and applying writes, per transaction.

:class:`Lookup` answers the questions :mod:`labdesk.interface.apply_results` asks (specimen by
accession, order by placer number, the patient's MRN, the tests of a specimen or order, a
test's current results) and takes what applying a group writes (new results, a test's
status, moved only as :mod:`labdesk.domain.lifecycle` allows: :meth:`Lookup.move`). It
works on the session's ORM objects, one query per question (manual matching,
and groups that also carry orders, which could create the very rows a later result names).

:class:`BulkLookup` (:meth:`Lookup.prefetch`) serves a group of ORU^R01: everything the
group names is read up front with a handful of ``IN`` queries as plain rows, and the writes
are buffered and sent with one statement per table by :meth:`BulkLookup.finish` (or earlier,
by :meth:`BulkLookup.flush`, when a later message supersedes a result the group added). A
status set on a test by one message is what the next message of the group sees; results
added in the group are kept by :meth:`Lookup.set_current`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import labdesk.adapters.repositories.hl7_ingest_sql as ingest_sql
from labdesk.domain import lifecycle
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.order import OrderStatus, TestStatus
from labdesk.domain.result import AbnormalFlag, Result, ResultStatus
from labdesk.domain.result_chain import current_results
from labdesk.hl7.semantics import ResultGroup
from labdesk.ports import UnitOfWork


class SpecimenRef(Protocol):
    """What matching needs of a specimen."""

    @property
    def id(self) -> int | None:
        """Primary key."""

    @property
    def accession(self) -> str:
        """Accession ID."""

    @property
    def patient_id(self) -> int:
        """Whose specimen."""


class OrderRef(Protocol):
    """What matching needs of an order."""

    @property
    def id(self) -> int | None:
        """Primary key."""

    @property
    def patient_id(self) -> int:
        """Whose order."""

    @property
    def status(self) -> OrderStatus:
        """Active, cancelled..."""


class TestRef(Protocol):
    """An ordered test as matching and applying see it (its status is set by applying)."""

    id: int | None
    status: TestStatus
    status_changed_at: datetime | None

    @property
    def order_id(self) -> int:
        """The order it belongs to."""

    @property
    def specimen_id(self) -> int | None:
        """The specimen carrying it, if any."""

    @property
    def test_code(self) -> str:
        """Catalog code."""


class ResultRef(Protocol):
    """A stored or newly added result, as superseding needs it (``id`` None until written)."""

    @property
    def id(self) -> int | None:
        """Primary key."""

    @property
    def observation_code(self) -> str:
        """OBX-3 code."""

    @property
    def status(self) -> ResultStatus:
        """Preliminary, final, corrected, wrong..."""


@dataclass(slots=True, kw_only=True)
class NewResult:
    """A result row to add (the columns of ``results``); ``id`` is set once written."""

    observation_code: str
    observation_name: str
    value: str
    status: ResultStatus
    received_at: datetime
    ordered_test_id: int | None
    specimen_id: int | None
    message_id: str
    units: str = ""
    reference_range: str = ""
    abnormal_flag: AbnormalFlag | None = None
    observed_at: datetime | None = None
    supersedes_id: int | None = None
    id: int | None = None


@dataclass(slots=True, frozen=True)
class SpecimenFate:
    """The lab's last word on a specimen: its rejection or loss (the custody event)."""

    kind: CustodyEventKind
    """``REJECTED`` or ``LOST``."""
    reason: str
    """The coded reason (see :func:`labdesk.domain.recollection.reason_label`)."""
    at: datetime
    timezone: str
    """The specimen's site's zone, for showing ``at``."""


class Lookup:
    """Matching reads and applying writes on the ORM session (see module docstring)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    @classmethod
    def prefetch(cls, uow: UnitOfWork, groups: Iterable[ResultGroup]) -> BulkLookup:
        """Everything ``groups`` can match on, read in a few queries (see :class:`BulkLookup`).

        Only valid while nothing else in the transaction creates specimens, orders, ordered
        tests or patients (true of result messages: they only add results).
        """
        return BulkLookup(uow, groups)

    def specimen(self, accession: str) -> SpecimenRef | None:
        """Specimen by accession."""
        return self.uow.specimens.by_accession(accession)

    def order(self, placer_order_number: str) -> OrderRef | None:
        """Order by placer order number."""
        return self.uow.orders.by_placer_number(placer_order_number)

    def patient_mrn(self, patient_id: int) -> str | None:
        """The MRN of a patient (None when there is no such patient)."""
        patient = self.uow.patients.get(patient_id)
        return patient.mrn if patient is not None else None

    def tests_for_specimen(self, specimen_id: int) -> Sequence[TestRef]:
        """Ordered tests carried by a specimen."""
        return self.uow.orders.tests_for_specimen(specimen_id)

    def tests_for_order(self, order_id: int) -> Sequence[TestRef]:
        """Ordered tests of an order."""
        return self.uow.orders.tests_for_orders([order_id])

    def current(self, ordered_test_id: int) -> list[ResultRef]:
        """The test's current results (not superseded, not retractions), oldest first.

        The test's row is locked first: another process adding a result to the same test
        waits for this commit, then reads this chain (never two current results).
        """
        ingest_sql.lock_test(self.uow.session, ordered_test_id)
        return [*current_results(self.uow.results.for_ordered_test(ordered_test_id))]

    def set_current(self, ordered_test_id: int, results: Sequence[ResultRef]) -> None:
        """Remember the test's current results after a group was applied to it."""

    def add_result(self, result: NewResult) -> ResultRef:
        """Stage a new result; returns what :meth:`current` will list for it."""
        row = Result(
            observation_code=result.observation_code,
            observation_name=result.observation_name,
            value=result.value,
            status=result.status,
            received_at=result.received_at,
            ordered_test_id=result.ordered_test_id,
            specimen_id=result.specimen_id,
            units=result.units,
            reference_range=result.reference_range,
            abnormal_flag=result.abnormal_flag,
            observed_at=result.observed_at,
            supersedes_id=result.supersedes_id,
            message_id=result.message_id,
        )
        self.uow.results.add(row)
        return row

    def specimen_fate(self, specimen_id: int) -> SpecimenFate | None:
        """The specimen's latest rejection or loss (None when it has none); one query, on
        either path (only a result discrepancy asks)."""
        found = ingest_sql.specimen_fate(self.uow.session, specimen_id)
        return SpecimenFate(*found) if found is not None else None

    def move(self, test: TestRef, event: lifecycle.TestEvent, now: datetime) -> None:
        """Move an ordered test by ``event`` as the state model allows (changed at ``now``).

        Every status change the HL7 ingest makes comes through here, on both paths.

        Raises:
            IllegalTransition: when the test's state does not allow ``event``.
        """
        status = lifecycle.next_test_status(test.status, event)
        if status is not test.status:
            self.set_status(test, status, now)

    def set_status(self, test: TestRef, status: TestStatus, now: datetime) -> None:
        """Write ``status`` on an ordered test (changed at ``now``); callers use :meth:`move`."""
        test.status = status
        test.status_changed_at = now

    def flush(self) -> None:
        """Write what is staged, so every added result has its id."""
        self.uow.results.flush()

    def finish(self) -> None:
        """Write what is still staged or buffered (before the transaction commits)."""
        self.uow.results.flush()


@dataclass(slots=True, frozen=True)
class _SpecimenRow:
    id: int
    accession: str
    patient_id: int


@dataclass(slots=True, frozen=True)
class _OrderRow:
    id: int
    patient_id: int
    status: OrderStatus


@dataclass(slots=True, kw_only=True)
class _TestRow:
    id: int | None
    order_id: int
    specimen_id: int | None
    test_code: str
    status: TestStatus
    status_changed_at: datetime | None


@dataclass(slots=True, frozen=True)
class _StoredResult:
    id: int
    observation_code: str
    status: ResultStatus


class BulkLookup(Lookup):
    """Prefetched reads as plain rows and buffered writes, for a group of result messages.

    Reads and writes go through :mod:`labdesk.adapters.repositories.hl7_ingest_sql`
    (SQLAlchemy Core): for a group commit of ORU^R01, loading and tracking ORM objects cost
    more than the SQL itself.
    Questions about rows the group does not name are answered as "not found".
    """

    def __init__(self, uow: UnitOfWork, groups: Iterable[ResultGroup]) -> None:
        super().__init__(uow)
        accessions: set[str] = set()
        placers: set[str] = set()
        for group in groups:
            accessions.update(a for a in (group.filler_order_number, *group.specimen_ids) if a)
            if group.placer_order_number:
                placers.add(group.placer_order_number)
        session = uow.session
        self._mrns: dict[int, str] = {}
        self._specimens: dict[str, _SpecimenRow] = {}
        for sid, accession, patient_id, mrn in ingest_sql.specimens(session, accessions):
            self._specimens[accession] = _SpecimenRow(sid, accession, patient_id)
            self._mrns[patient_id] = mrn
        self._orders: dict[str, _OrderRow] = {}
        for oid, placer, patient_id, order_status, mrn in ingest_sql.orders(session, placers):
            self._orders.setdefault(placer, _OrderRow(oid, patient_id, order_status))
            self._mrns[patient_id] = mrn
        specimen_ids = {s.id for s in self._specimens.values()}
        order_ids = {o.id for o in self._orders.values()}
        self._by_specimen: dict[int, list[TestRef]] = {i: [] for i in specimen_ids}
        self._by_order: dict[int, list[TestRef]] = {i: [] for i in order_ids}
        self._current: dict[int, list[ResultRef]] = {}
        for tid, order_id, specimen_id, code, status, changed in ingest_sql.tests(
            session, specimen_ids, order_ids
        ):
            test = _TestRow(
                id=tid,
                order_id=order_id,
                specimen_id=specimen_id,
                test_code=code,
                status=status,
                status_changed_at=changed,
            )
            self._current[tid] = []
            if specimen_id in self._by_specimen:
                self._by_specimen[specimen_id].append(test)
            if order_id in self._by_order:
                self._by_order[order_id].append(test)
        self._read_current_results()
        self._pending: list[NewResult] = []
        self._moved: dict[int, TestRef] = {}

    def _read_current_results(self) -> None:
        """Current results of the prefetched tests (as :func:`current_results` decides)."""
        chains = ingest_sql.result_chains(self.uow.session, self._current)
        replaced = {(test, old) for _, test, old, _, _ in chains if old is not None}
        for rid, test, _, code, status in chains:
            if (test, rid) not in replaced and status is not ResultStatus.WRONG:
                self._current[test].append(_StoredResult(rid, code, status))

    def specimen(self, accession: str) -> SpecimenRef | None:
        """Specimen by accession (prefetched)."""
        return self._specimens.get(accession)

    def order(self, placer_order_number: str) -> OrderRef | None:
        """Order by placer order number (prefetched; the oldest when several)."""
        return self._orders.get(placer_order_number)

    def patient_mrn(self, patient_id: int) -> str | None:
        """The MRN of the owner of a prefetched specimen or order."""
        return self._mrns.get(patient_id)

    def tests_for_specimen(self, specimen_id: int) -> Sequence[TestRef]:
        """Ordered tests carried by a prefetched specimen."""
        return self._by_specimen.get(specimen_id, [])

    def tests_for_order(self, order_id: int) -> Sequence[TestRef]:
        """Ordered tests of a prefetched order."""
        return self._by_order.get(order_id, [])

    def current(self, ordered_test_id: int) -> list[ResultRef]:
        """The test's current results, including those added in this transaction."""
        return list(self._current.get(ordered_test_id, ()))

    def set_current(self, ordered_test_id: int, results: Sequence[ResultRef]) -> None:
        """Remember the test's current results after a group was applied to it."""
        self._current[ordered_test_id] = list(results)

    def add_result(self, result: NewResult) -> ResultRef:
        """Buffer a new result (written by :meth:`flush`)."""
        self._pending.append(result)
        return result

    def set_status(self, test: TestRef, status: TestStatus, now: datetime) -> None:
        """Write ``status`` on a prefetched test (sent by :meth:`flush`)."""
        super().set_status(test, status, now)
        assert test.id is not None
        self._moved[test.id] = test

    def flush(self) -> None:
        """Write the buffered results (setting their ids) and status changes."""
        self._write(ids=True)

    def finish(self) -> None:
        """Write what is buffered before the transaction commits (no ids needed any more)."""
        self._write(ids=False)

    def _write(self, *, ids: bool) -> None:
        if self._pending:
            ingest_sql.insert_results(self.uow.session, self._pending, ids=ids)
            self._pending = []
        if self._moved:
            ingest_sql.update_test_statuses(
                self.uow.session,
                [(t.id, t.status, t.status_changed_at) for t in self._moved.values()],
            )
            self._moved = {}
