"""Random clinic days through the services: the board, the counts, the timelines and the
state model must agree after every step (issue 11, "The state model").

A hypothesis state machine draws tubes, ships them, receives, rejects and loses them, has
the lab report normal, critical, preliminary and retracted results over HL7, has clinicians
acknowledge, recollects rejected and lost tubes, and lets time pass. After every step:

- each ordered test's status in the database is the one the state model
  (:mod:`labdesk.domain.lifecycle`) gives for the events that happened to it;
- the board row of every open test shows that status, and its flags are the engine's;
- ``overdue counts`` equals the flags counted over the board's rows;
- no test is "in transit" once its tube was lost;
- a stored, unacknowledged critical result is always flagged;
- every specimen's timeline verifies and replays to the specimen's status.

Runs on SQLite and PostgreSQL (the ``uow_factory`` fixture's two backends).
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.events import Handoff, record_event
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import (
    close_receipt,
    open_receipt,
    receive_scan,
    reject_specimen,
)
from labdesk.custody.timeline import specimen_timeline
from labdesk.domain import lifecycle
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind, next_status
from labdesk.domain.errors import LabdeskError
from labdesk.domain.lifecycle import TestEvent as Event
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.people import Station
from labdesk.domain.recollection import RejectionReason
from labdesk.domain.result import AbnormalFlag, AckMeaning
from labdesk.domain.specimen import SpecimenStatus
from labdesk.interface.ingest import Ingestor
from labdesk.results.acknowledge import acknowledge_results, current_results
from labdesk.results.board import load_board, overdue_tally
from labdesk.results.board_query import BoardQuery
from labdesk.station.collect import collect
from labdesk.station.dto import ContainerCollection
from labdesk.station.encounter import confirm_identity, load_encounter, open_encounter
from labdesk.station.recollection_tasks import open_recollection_tasks
from tests.custody_world import PASSWORD, World

STATION = "STATION-1"
BORN = date(1970, 1, 1)  # the custody world's patient

POLICY = OverduePolicy()
_RECOLLECT_FROM = frozenset({Status.REJECTED, Status.LOST})
_ACKNOWLEDGE_FROM = frozenset(
    {
        Status.COLLECTED,
        Status.IN_TRANSIT,
        Status.RECEIVED,
        Status.PRELIMINARY,
        Status.FINAL,
        Status.ACKNOWLEDGED,
        Status.REJECTED,
        Status.LOST,
        Status.NOT_PERFORMED,
    }
)
_RESULT_FROM = frozenset(
    {
        Status.RECEIVED,
        Status.PRELIMINARY,
        Status.FINAL,
        Status.ACKNOWLEDGED,
        Status.REJECTED,
        Status.LOST,
    }
)
_REJECT_FROM = frozenset(
    {
        Status.COLLECTED,
        Status.IN_TRANSIT,
        Status.RECEIVED,
        Status.PRELIMINARY,
        Status.FINAL,
        Status.ACKNOWLEDGED,
        Status.REJECTED,
        Status.LOST,
        Status.NOT_PERFORMED,
    }
)
_LOSE_FROM = frozenset({Status.IN_TRANSIT})
_RECEIVE_FROM = frozenset({Status.IN_TRANSIT})
_SHIP_FROM = frozenset({Status.COLLECTED})
_CONTROL = itertools.count(1)
_RESULTS = {
    "normal": ("F", "4.1", ""),
    "critical": ("F", "7.3", "HH"),
    "preliminary": ("P", "4.4", ""),
    "retracted": ("F", "", "W"),
}


def _oru(accession: str, kind: str) -> str:
    status, value, flag = _RESULTS[kind]
    obx_status = "W" if flag == "W" else status
    obx_flag = "" if flag == "W" else flag
    segments = [
        f"MSH|^~\\&|LABSYS|REFLAB|LABDESK|CLINIC|20260302120000||ORU^R01^ORU_R01|"
        f"M{next(_CONTROL)}|P|2.5.1",
        "PID|1||M0000001^^^CLINIC^MR||Testperson^Pat||19700101|F",
        f"ORC|RE||{accession}",
        f"OBR|1||{accession}|K^Potassium^L|||20260302100000|||||||||||||||20260302113000|||"
        f"{status}",
        f"OBX|1|NM|K^Potassium^L||{value}|mmol/L|3.5-5.1|{obx_flag}|||{obx_status}|||"
        "20260302110000",
    ]
    return "\r".join(segments) + "\r"


class ClinicLoop(RuleBasedStateMachine):
    """One clinic: tubes and what happens to them, checked against the state model."""

    world: World
    ingestor: Ingestor

    fired: ClassVar[Counter[str]] = Counter()
    """Rules that did their work, over the whole run (the test checks each path was taken)."""

    def __init__(self) -> None:
        super().__init__()
        self.expected: dict[int, Status] = {}
        """Ordered test id -> the status the state model gives."""
        self.test_of: dict[str, int] = {}
        """Accession -> the ordered test it carries (one potassium test per tube)."""
        self.manifest_of: dict[str, str] = {}
        self.lost: set[int] = set()
        self.drawn: list[str] = []
        """Every tube drawn, recollections too (their timelines are checked)."""

    # ------------------------------------------------------------ helpers

    def _tubes(self, statuses: frozenset[Status]) -> list[str]:
        """Tubes (current ones: not replaced by a recollection) whose test is in ``statuses``."""
        return sorted(a for a, t in self.test_of.items() if self.expected[t] in statuses)

    def _pick(self, data: st.DataObject, statuses: frozenset[Status]) -> str:
        return data.draw(st.sampled_from(self._tubes(statuses)))

    def _tube_tests(self, accession: str) -> list[int]:
        test_id = self.test_of.get(accession)
        return [] if test_id is None else [test_id]

    def _custody(self, accession: str, kind: CustodyEventKind) -> None:
        """The state model's move of the tests a tube carries, after a custody event."""
        event = lifecycle.SPECIMEN_EVENTS[kind]
        for test_id in self._tube_tests(accession):
            moved = lifecycle.follows_specimen(self.expected[test_id], event)
            if moved is not None:
                self.expected[test_id] = moved
                if kind is CustodyEventKind.LOST:
                    self.lost.add(test_id)

    def _specimen_status(self, accession: str) -> SpecimenStatus:
        with self.world.uow() as uow:
            specimen = uow.specimens.by_accession(accession)
            assert specimen is not None
            return specimen.status

    # ------------------------------------------------------------ rules

    @initialize()
    def morning_round(self) -> None:
        """Three tubes drawn and on the road, one at the lab, before the day's events begin."""
        for _ in range(3):
            self.draw()
        for tube in self._tubes(_SHIP_FROM):
            self._ship(tube)
        self._receive(self._tubes(_RECEIVE_FROM)[0])

    @rule()
    def draw(self) -> None:
        accession = self.world.specimen(tests=("K",), container="PST")
        with self.world.uow() as uow:
            specimen = uow.specimens.by_accession(accession)
            assert specimen is not None
            assert specimen.id is not None
            (test,) = uow.orders.tests_for_specimen(specimen.id)
            assert test.id is not None
            self.expected[test.id] = lifecycle.next_test_status(Status.ORDERED, Event.COLLECTED)
            self.test_of[accession] = test.id
        self.drawn.append(accession)

    @precondition(lambda self: self._tubes(_RECOLLECT_FROM))
    @rule(data=st.data())
    def recollect(self, data: st.DataObject) -> None:
        tube = self._pick(data, _RECOLLECT_FROM)
        """The MA opens the tube's recollection task, draws again, labels and scans back."""
        test_id = self.test_of.get(tube)
        if test_id is None or self.expected[test_id] not in lifecycle.NEEDS_RECOLLECTION:
            return
        world, ma = self.world, self.world.users["maria"]
        with world.uow() as uow:
            (task,) = [t for t in open_recollection_tasks(uow) if t.accession == tube]
            eid = open_encounter(uow, world.clock, ma, world.patient_id, STATION)
        with world.uow() as uow:
            confirm_identity(uow, world.clock, ma, eid, birth_date=BORN, name_confirmed=True)
        with world.uow() as uow:
            shown = load_encounter(uow, ma, eid, recollection_task_id=task.task_id)
        assert [t for c in shown.plan.containers for t in c.ordered_test_ids] == [test_id]
        containers = [
            ContainerCollection(c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml)
            for c in shown.plan.containers
        ]
        with world.uow() as uow:
            result = collect(
                uow, world.clock, ma, eid, containers, recollection_task_id=task.task_id
            )
        (new,) = [s.accession for s in result.specimens]
        with world.uow() as uow:
            specimen = uow.specimens.by_accession(new)
            assert specimen is not None
            for kind in (CustodyEventKind.LABELLED, CustodyEventKind.VERIFIED):
                record_event(
                    uow, world.clock, specimen, kind, Handoff(actor_id=ma.id, location="Chair")
                )
            uow.commit()
            assert specimen.recollection_of_id is not None
            assert all(t.accession != tube for t in open_recollection_tasks(uow))
        self.expected[test_id] = lifecycle.next_test_status(
            self.expected[test_id], Event.RECOLLECTED
        )
        del self.test_of[tube]
        self.test_of[new] = test_id
        self.drawn.append(new)
        self.lost.discard(test_id)
        self.fired["recollect"] += 1

    @precondition(lambda self: self._tubes(_SHIP_FROM))
    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        self._ship(self._pick(data, _SHIP_FROM))

    def _ship(self, tube: str) -> None:
        courier = self.world.users["chris"]
        try:
            with self.world.uow() as uow:
                number = start_pickup(uow, self.world.clock, courier, "CLINIC").number
            with self.world.uow() as uow:
                scan_for_pickup(uow, self.world.clock, courier, number, tube)
            with self.world.uow() as uow:
                finish_pickup(uow, self.world.clock, courier, number, PASSWORD, leave_behind=True)
        except LabdeskError:
            return
        if self._specimen_status(tube) is SpecimenStatus.IN_TRANSIT:
            self.manifest_of[tube] = number
            self._custody(tube, CustodyEventKind.PICKED_UP)
            self.fired["ship"] += 1

    @precondition(lambda self: self._tubes(_RECEIVE_FROM))
    @rule(data=st.data())
    def receive(self, data: st.DataObject) -> None:
        self._receive(self._pick(data, _RECEIVE_FROM))

    def _receive(self, tube: str) -> None:
        number = self.manifest_of.get(tube)
        if number is None:
            return
        lab = self.world.users["lena"]
        try:
            with self.world.uow() as uow:
                open_receipt(uow, self.world.clock, lab, number)
            with self.world.uow() as uow:
                receive_scan(uow, self.world.clock, lab, number, tube)
        except LabdeskError:
            return
        if self._specimen_status(tube) is SpecimenStatus.RECEIVED:
            self._custody(tube, CustodyEventKind.RECEIVED)
            self.fired["receive"] += 1

    @precondition(lambda self: self._tubes(_LOSE_FROM))
    @rule(data=st.data())
    def lose(self, data: st.DataObject) -> None:
        tube = self._pick(data, _LOSE_FROM)
        """The lab closes the tube's manifest without scanning it: reported lost."""
        number = self.manifest_of.get(tube)
        if number is None:
            return
        lab = self.world.users["lena"]
        before = self._specimen_status(tube)
        try:
            with self.world.uow() as uow:
                open_receipt(uow, self.world.clock, lab, number)
            with self.world.uow() as uow:
                close_receipt(uow, self.world.clock, lab, number, report_missing_lost=True)
        except LabdeskError:
            return
        if before is not SpecimenStatus.LOST and self._specimen_status(tube) is SpecimenStatus.LOST:
            self._custody(tube, CustodyEventKind.LOST)
            self.fired["lose"] += 1

    @precondition(lambda self: self._tubes(_REJECT_FROM))
    @rule(data=st.data(), reason=st.sampled_from([RejectionReason.HAEMOLYSED, RejectionReason.QNS]))
    def reject(self, data: st.DataObject, reason: RejectionReason) -> None:
        tube = self._pick(data, _REJECT_FROM)
        before = self._specimen_status(tube)
        try:
            with self.world.uow() as uow:
                reject_specimen(uow, self.world.clock, self.world.users["lena"], tube, reason)
        except LabdeskError:
            assert before not in (SpecimenStatus.IN_TRANSIT, SpecimenStatus.RECEIVED)
            return
        self._custody(tube, CustodyEventKind.REJECTED)
        self.fired["reject"] += 1

    @precondition(lambda self: self._tubes(_RESULT_FROM))
    @rule(data=st.data(), kind=st.sampled_from(sorted(_RESULTS)))
    def result(self, data: st.DataObject, kind: str) -> None:
        tube = self._pick(data, _RESULT_FROM)
        if tube not in self.test_of:
            return  # a tube replaced by its recollection
        test_id = self.test_of[tube]
        before = self.expected[test_id]
        reply = self.ingestor.handle_frame(_oru(tube, kind), "lab")
        assert "MSA|AA" in reply.ack, reply.ack
        with self.world.uow() as uow:
            test = uow.board.ordered_test(test_id)
            assert test is not None
            stored = test.status
        if not lifecycle.accepts_result(before):
            # A result for a rejected or lost tube is kept aside; the lab's fact stands.
            assert stored is before
            self.fired["discrepancy"] += 1
            return
        self.fired[f"result {kind}"] += 1
        self.expected[test_id] = stored  # which result state: the HL7 semantics decide...
        assert lifecycle.allows(before, lifecycle.result_event(stored))  # ...the model allows

    @precondition(lambda self: self._tubes(_ACKNOWLEDGE_FROM))
    @rule(data=st.data())
    def acknowledge(self, data: st.DataObject) -> None:
        tube = self._pick(data, _ACKNOWLEDGE_FROM)
        if tube not in self.test_of:
            return
        test_id = self.test_of[tube]
        before = self.expected[test_id]
        if not before.is_open:  # signed (or cancelled) already: reported, not signed again
            with self.world.uow() as uow:
                outcome = acknowledge_results(
                    uow, self.world.clock, self.world.users["sam"], [test_id],
                    AckMeaning.REVIEWED,
                )  # fmt: skip
            assert outcome.already_closed == [test_id]
            return
        try:
            with self.world.uow() as uow:
                acknowledge_results(
                    uow,
                    self.world.clock,
                    self.world.users["sam"],
                    [test_id],
                    AckMeaning.REVIEWED,
                )
        except LabdeskError:
            assert not lifecycle.allows(before, Event.ACKNOWLEDGED), before
            return
        assert lifecycle.allows(before, Event.ACKNOWLEDGED), before
        self.expected[test_id] = lifecycle.next_test_status(before, Event.ACKNOWLEDGED)
        self.fired["acknowledge"] += 1

    @rule(minutes=st.sampled_from([5, 59, 61, 240, 60 * 30]))
    def wait(self, minutes: int) -> None:
        self.world.clock.advance(timedelta(minutes=minutes))

    # ------------------------------------------------------------ invariants

    @invariant()
    def everything_agrees(self) -> None:
        if not self.expected:
            return
        world = self.world
        sam = world.users["sam"]
        with world.uow() as uow:
            board = load_board(
                uow, world.clock, sam, POLICY, BoardQuery(include_closed=True),
                audit=False, page_size=100_000,
            )  # fmt: skip
        rows = {r.ordered_test_id: r for r in board.rows}
        with world.uow() as uow:
            for test_id, expected in self.expected.items():
                test = uow.board.ordered_test(test_id)
                assert test is not None
                assert test.status is expected, (test_id, test.status, expected)
                row = rows.get(test_id)
                if expected.is_open:
                    assert row is not None
                    assert row.status is expected
                if test_id in self.lost:
                    assert test.status is not Status.IN_TRANSIT
                    assert row is None or FlagReason.TRANSIT_OVERDUE not in row.reasons
                current = current_results(uow.results.for_ordered_test(test_id))
                criticals = [
                    r.received_at
                    for r in current
                    if r.abnormal_flag in (AbnormalFlag.CRITICAL_HIGH, AbnormalFlag.CRITICAL_LOW)
                ]
                if criticals and expected in (Status.FINAL, Status.PRELIMINARY):
                    signed = [a[0] for a in uow.board.acknowledgement_rows(test_id)]
                    if not any(at >= min(criticals) for at in signed):
                        assert row is not None, test_id
                        assert FlagReason.CRITICAL_NOT_ACKNOWLEDGED in row.reasons, row
            for accession in self.drawn:
                specimen = uow.specimens.by_accession(accession)
                assert specimen is not None
                timeline = specimen_timeline(uow, world.users["alex"], accession=accession)
                assert timeline.verified
                replayed: SpecimenStatus | None = None
                for entry in timeline.entries:
                    replayed = next_status(replayed, entry.kind)
                assert replayed is specimen.status, (accession, replayed, specimen.status)
        counted: Counter[FlagReason] = Counter(
            f.reason for r in board.rows if r.status.is_open for f in r.flags
        )
        with world.uow() as uow:
            _open, tally = overdue_tally(uow, world.clock, POLICY)
        assert {k: v for k, v in tally.items() if v and k is not FlagReason.UNMATCHED_RESULT} == {
            k: v for k, v in counted.items() if k is not FlagReason.UNMATCHED_RESULT
        }


@pytest.mark.parametrize("seed", [0])
def test_random_clinic_days_keep_board_counts_and_timelines_in_step(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, seed: int
) -> None:
    world = World.build(uow_factory, clock)
    with uow_factory() as uow:
        uow.people.add(Station(code=STATION, name="Chair 1", site_id=world.sites["CLINIC"]))
        uow.commit()
    ClinicLoop.world = world
    ClinicLoop.ingestor = Ingestor(uow_factory, clock, timezone="UTC")
    ClinicLoop.fired = Counter()
    run_state_machine_as_test(
        ClinicLoop,
        settings=settings(
            max_examples=10,
            stateful_step_count=16,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    paths = {"ship", "receive", "lose", "reject", "recollect", "discrepancy", "acknowledge"}
    paths |= {"result critical", "result normal"}
    assert paths <= set(ClinicLoop.fired), ClinicLoop.fired
