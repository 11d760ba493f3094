"""What matching reads, read once per transaction for a group of result messages.

:class:`Lookup` answers the questions :mod:`labdesk.hl7.apply_results` asks (specimen by
accession, order by placer number, the patient, the tests of a specimen or order, a test's
current results). Built with :meth:`Lookup.prefetch` it loads everything a group of ORU^R01
names with a handful of ``IN`` queries instead of five to six queries per message; without
it, each question is one query (manual matching, and groups that also carry orders, which
could create the very rows a later result names).

The prefetched objects are the session's own (identity map), so a status set on an ordered
test by one message is what the next message of the group sees; results added in the group
are kept in the lookup by :meth:`Lookup.set_current`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from labdesk.domain.order import Order, OrderedTest
from labdesk.domain.patient import Patient
from labdesk.domain.result import Result
from labdesk.domain.result_chain import current_results
from labdesk.domain.specimen import Specimen
from labdesk.hl7.semantics import ResultGroup
from labdesk.ports import UnitOfWork


class Lookup:
    """Matching reads over one unit of work, optionally prefetched (see module docstring)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._prefetched = False
        self._specimens: dict[str, Specimen] = {}
        self._orders: dict[str, Order] = {}
        self._patients: dict[int, Patient] = {}
        self._by_specimen: dict[int, list[OrderedTest]] = {}
        self._by_order: dict[int, list[OrderedTest]] = {}
        self._current: dict[int, list[Result]] = {}

    @classmethod
    def prefetch(cls, uow: UnitOfWork, groups: Iterable[ResultGroup]) -> Lookup:
        """Load what ``groups`` can match on, in a few queries.

        Only valid while nothing else in the transaction creates specimens, orders, ordered
        tests or patients (true of result messages: they only add results).
        """
        lookup = cls(uow)
        accessions: set[str] = set()
        placers: set[str] = set()
        for group in groups:
            accessions.update(a for a in (group.filler_order_number, *group.specimen_ids) if a)
            if group.placer_order_number:
                placers.add(group.placer_order_number)
        repo = uow.hl7
        lookup._specimens = {s.accession: s for s in repo.specimens_by_accession(accessions)}
        lookup._orders = {}
        for order in repo.orders_by_placer(placers):
            lookup._orders.setdefault(order.placer_order_number, order)
        owners = {s.patient_id for s in lookup._specimens.values()}
        owners |= {o.patient_id for o in lookup._orders.values()}
        lookup._patients = {p.id: p for p in repo.patients_by_id(owners) if p.id is not None}
        specimen_ids = {s.id for s in lookup._specimens.values() if s.id is not None}
        order_ids = {o.id for o in lookup._orders.values() if o.id is not None}
        tests = repo.tests_of(specimen_ids, order_ids)
        lookup._by_specimen = {i: [] for i in specimen_ids}
        lookup._by_order = {i: [] for i in order_ids}
        for ot in tests:
            if ot.specimen_id in lookup._by_specimen:
                lookup._by_specimen[ot.specimen_id].append(ot)
            if ot.order_id in lookup._by_order:
                lookup._by_order[ot.order_id].append(ot)
        test_ids = [ot.id for ot in tests if ot.id is not None]
        lookup._current = {i: [] for i in test_ids}
        for result in repo.current_results_of(test_ids):
            assert result.ordered_test_id is not None
            lookup._current[result.ordered_test_id].append(result)
        lookup._prefetched = True
        return lookup

    def specimen(self, accession: str) -> Specimen | None:
        """Specimen by accession."""
        if self._prefetched:
            return self._specimens.get(accession)
        return self.uow.specimens.by_accession(accession)

    def order(self, placer_order_number: str) -> Order | None:
        """Order by placer order number."""
        if self._prefetched:
            return self._orders.get(placer_order_number)
        return self.uow.orders.by_placer_number(placer_order_number)

    def patient(self, patient_id: int) -> Patient | None:
        """Patient by primary key."""
        if self._prefetched and patient_id in self._patients:
            return self._patients[patient_id]
        return self.uow.patients.get(patient_id)

    def tests_for_specimen(self, specimen_id: int) -> Sequence[OrderedTest]:
        """Ordered tests carried by a specimen."""
        if self._prefetched and specimen_id in self._by_specimen:
            return self._by_specimen[specimen_id]
        return self.uow.orders.tests_for_specimen(specimen_id)

    def tests_for_order(self, order_id: int) -> Sequence[OrderedTest]:
        """Ordered tests of an order."""
        if self._prefetched and order_id in self._by_order:
            return self._by_order[order_id]
        return self.uow.orders.tests_for_orders([order_id])

    def current(self, ordered_test_id: int) -> list[Result]:
        """The test's current results (not superseded, not retractions), oldest first."""
        if ordered_test_id in self._current:
            return list(self._current[ordered_test_id])
        return current_results(self.uow.results.for_ordered_test(ordered_test_id))

    def set_current(self, ordered_test_id: int, results: Sequence[Result]) -> None:
        """Remember the test's current results after a group was applied to it."""
        if self._prefetched:
            self._current[ordered_test_id] = list(results)
