"""Print at the chair, scan-back, finishing the visit and the worklist, on both backends."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from station_world import StationWorld, add_order, build_station_world

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind
from labdesk.domain.encounter import AlarmKind
from labdesk.domain.errors import ValidationError
from labdesk.domain.printing import CHECK_THE_TUBE, PrintJobStatus
from labdesk.domain.recollection import RecollectionTask
from labdesk.domain.specimen import SpecimenStatus
from labdesk.kernel.messagebus import (
    AfterCommit,
    AlreadyHandled,
    Command,
    HandlerContext,
    MessageBus,
    handler,
)
from labdesk.printing.dto import PrintJobRow, PrintSetup
from labdesk.printing.spooler import process_due_jobs
from labdesk.printing.views import list_print_jobs
from labdesk.station.collect import collect
from labdesk.station.commands import PrintEncounterLabels, ResolveUnconfirmedLabels
from labdesk.station.dto import ContainerCollection, PrintOutcome, ScanResult
from labdesk.station.encounter import (
    complete_encounter,
    confirm_identity,
    load_encounter,
    open_encounter,
    resolve_alarm,
)
from labdesk.station.labels import EncounterLabels, queue_encounter_labels, scan_back
from labdesk.station.worklist import station_worklist
from printers.errors import PrinterOffline, PrinterUnconfirmed
from printers.spool_adapter import LabelRendererAdapter, open_spool_printer
from printers.status import PrinterStatus


@dataclass
class FlakyPrinter:
    """A ZPL printer that records jobs and refuses the ones whose index is in ``fail``."""

    fail: set[int] = field(default_factory=set)
    jobs: list[bytes] = field(default_factory=list)
    attempts: int = 0
    language: str = "zpl"

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        self.attempts += 1
        if self.attempts in self.fail:
            raise PrinterOffline("Printer offline.", hint="Switch it on.")
        self.jobs.append(payload)

    def status(self) -> PrinterStatus:
        return PrinterStatus.ok()


BORN = date(1984, 3, 5)


@pytest.fixture
def world(uow_factory: UnitOfWorkFactory, clock: FixedClock, tmp_path: Path) -> StationWorld:
    return build_station_world(uow_factory, clock, label_printer_uri=f"file://{tmp_path}/labels")


@pytest.fixture
def setup() -> PrintSetup:
    return PrintSetup(
        station_code="DRAW-2", opener=open_spool_printer, renderer=LabelRendererAdapter()
    )


def print_labels(
    uows: UnitOfWorkFactory,
    clock: FixedClock,
    world: StationWorld,
    setup: PrintSetup,
    eid: int,
    specimen_ids: tuple[int, ...] | None = None,
) -> PrintOutcome:
    """Press Print at the chair: the command through the bus."""
    command = PrintEncounterLabels(setup=setup, encounter_id=eid, specimen_ids=specimen_ids)
    return MessageBus(uows, clock).handle(command, world.ma)


def check_unconfirmed(
    uows: UnitOfWorkFactory,
    clock: FixedClock,
    world: StationWorld,
    setup: PrintSetup,
    eid: int,
    *,
    printed: bool,
) -> PrintOutcome:
    """Say what is on the tubes of the unconfirmed labels: the command through the bus."""
    command = ResolveUnconfirmedLabels(setup=setup, encounter_id=eid, printed=printed)
    return MessageBus(uows, clock).handle(command, world.ma)


def _collected_encounter(
    uows: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, codes: tuple[str, ...]
) -> tuple[int, list[int]]:
    add_order(uows, clock, world.patients["ana"], codes)
    with uows() as uow:
        eid = open_encounter(uow, clock, world.ma, world.patients["ana"], world.station_code)
    with uows() as uow:
        confirm_identity(
            uow, clock, world.ma, eid, birth_date=date(1984, 3, 5), name_confirmed=True
        )
    with uows() as uow:
        plan = load_encounter(uow, world.ma, eid).plan
    with uows() as uow:
        result = collect(
            uow,
            clock,
            world.ma,
            eid,
            [ContainerCollection(c.container_code, c.ordered_test_ids) for c in plan.containers],
        )
    return eid, [s.id for s in result.specimens]


def _accessions(uows: UnitOfWorkFactory, world: StationWorld, eid: int) -> list[str]:
    with uows() as uow:
        return [s.accession for s in load_encounter(uow, world.ma, eid).specimens]


def _kinds(uows: UnitOfWorkFactory, specimen_id: int) -> list[CustodyEventKind]:
    with uows() as uow:
        return [e.kind for e in uow.custody.for_specimen(specimen_id)]


def test_print_labels_only_this_patients_containers_and_preview_decodes(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    world: StationWorld,
    setup: PrintSetup,
    tmp_path: Path,
) -> None:
    add_order(uow_factory, clock, world.patients["ben"], ("CBC",))  # another patient, pending
    eid, ids = _collected_encounter(uow_factory, clock, world, ("CBC", "CMP"))

    outcome = print_labels(uow_factory, clock, world, setup, eid)

    assert outcome.all_printed
    assert {label.specimen_id for label in outcome.labels} == set(ids)
    assert len(list((tmp_path / "labels").glob("*.zpl"))) == 2
    assert outcome.preview_png is not None
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(outcome.preview_png)))
    assert [d.text for d in decoded] == [outcome.labels[0].accession]
    for specimen_id in ids:
        assert _kinds(uow_factory, specimen_id) == [
            CustodyEventKind.COLLECTED,
            CustodyEventKind.LABELLED,
        ]
    with pytest.raises(ValidationError, match="already printed"):
        print_labels(uow_factory, clock, world, setup, eid)
    with pytest.raises(ValidationError, match="not part of this patient"):
        print_labels(uow_factory, clock, world, setup, eid, (999,))


def test_printer_failing_mid_order_then_retry_prints_only_the_missing_label(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    printer = FlakyPrinter(fail={2})
    setup = PrintSetup(
        station_code="DRAW-2",
        opener=lambda _uri: printer,
        renderer=LabelRendererAdapter(),
        label_printer_override="tcp://printer.invalid:9100",
    )
    eid, _ = _collected_encounter(uow_factory, clock, world, ("CBC", "CMP"))

    first = print_labels(uow_factory, clock, world, setup, eid)

    assert not first.all_printed
    assert len(first.failures) == 1
    assert "Printer offline" in first.failures[0].message
    with uow_factory() as uow:
        view = load_encounter(uow, world.ma, eid)
    assert "1 label(s) not printed" in view.blockers
    clock.advance(timedelta(seconds=30))  # past the spooler's back-off

    second = print_labels(uow_factory, clock, world, setup, eid)

    assert second.all_printed
    assert len(second.labels) == 1
    assert len(printer.jobs) == 2  # one label per container, none twice
    with uow_factory() as uow:
        statuses = {s.status for s in load_encounter(uow, world.ma, eid).specimens}
    assert statuses == {SpecimenStatus.LABELLED}


def test_scan_back_ticks_alarms_and_blocks_completion_until_resolved(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, setup: PrintSetup
) -> None:
    # Another patient's labelled tube sits on the tray.
    with uow_factory() as uow:
        other_eid = open_encounter(uow, clock, world.ma, world.patients["ben"], "DRAW-2")
    add_order(uow_factory, clock, world.patients["ben"], ("CBC",))
    with uow_factory() as uow:
        confirm_identity(
            uow, clock, world.ma, other_eid, birth_date=date(1972, 11, 20), name_confirmed=True
        )
    with uow_factory() as uow:
        plan = load_encounter(uow, world.ma, other_eid).plan
        collect(
            uow,
            clock,
            world.ma,
            other_eid,
            [ContainerCollection("LAV", plan.containers[0].ordered_test_ids)],
        )
    print_labels(uow_factory, clock, world, setup, other_eid)
    other_tube = _accessions(uow_factory, world, other_eid)[0]

    eid, ids = _collected_encounter(uow_factory, clock, world, ("CBC", "CMP"))
    print_labels(uow_factory, clock, world, setup, eid)
    mine = _accessions(uow_factory, world, eid)

    def scan(text: str) -> ScanResult:
        with uow_factory() as uow:
            return scan_back(uow, clock, world.ma, eid, text).result

    assert scan(mine[0]) is ScanResult.TICKED
    assert scan(mine[0]) is ScanResult.DUPLICATE
    assert scan(other_tube) is ScanResult.ALARM
    assert scan("2600000000") is ScanResult.ALARM  # check digit fails: malformed
    assert scan("hello") is ScanResult.ALARM
    assert scan("WB-M200001") is ScanResult.NOT_LABELLED  # this patient's wristband
    assert scan(mine[1]) is ScanResult.TICKED

    with uow_factory() as uow:
        view = load_encounter(uow, world.ma, eid)
    assert [a.kind for a in view.open_alarms] == [
        AlarmKind.WRONG_PATIENT,
        AlarmKind.MALFORMED,
        AlarmKind.MALFORMED,
    ]
    with uow_factory() as uow, pytest.raises(ValidationError, match="scan alarm"):
        complete_encounter(uow, clock, world.ma, eid)
    for alarm in view.open_alarms:
        with uow_factory() as uow:
            resolve_alarm(uow, clock, world.ma, alarm.id, "tube set aside; rescanned")
    with uow_factory() as uow:
        done = complete_encounter(uow, clock, world.ma, eid)
    assert done.status.value == "completed"
    for specimen_id in ids:
        assert _kinds(uow_factory, specimen_id) == [
            CustodyEventKind.COLLECTED,
            CustodyEventKind.LABELLED,
            CustodyEventKind.VERIFIED,
        ]
    with uow_factory() as uow:  # the other patient's tube was not touched
        other = load_encounter(uow, world.ma, other_eid).specimens[0]
    assert other.status is SpecimenStatus.LABELLED


def test_unknown_valid_accession_is_an_alarm(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    from labdesk.domain.accession import make_accession

    eid, _ = _collected_encounter(uow_factory, clock, world, ("CBC",))
    with uow_factory() as uow:
        outcome = scan_back(uow, clock, world.ma, eid, make_accession(2026, 9_999_999))
    assert outcome.result is ScanResult.ALARM
    assert outcome.alarm is not None
    assert outcome.alarm.kind is AlarmKind.UNKNOWN_LABEL


def test_scan_before_print_says_print_first(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    eid, _ = _collected_encounter(uow_factory, clock, world, ("CBC",))
    with uow_factory() as uow:
        outcome = scan_back(uow, clock, world.ma, eid, _accessions(uow_factory, world, eid)[0])
    assert outcome.result is ScanResult.NOT_LABELLED
    assert "not printed" in outcome.message


def test_worklist_lists_waiting_patients_and_specimens_awaiting_pickup(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    add_order(uow_factory, clock, world.patients["ben"], ("CBC", "CMP"))
    add_order(uow_factory, clock, world.patients["cai"], ("TSH",), minutes_ago=60 * 24 * 3)
    _, ids = _collected_encounter(uow_factory, clock, world, ("CBC",))
    with uow_factory() as uow:
        work = station_worklist(uow, clock, world.ma, "DRAW-2", "America/New_York")
    assert [(w.patient.family_name, w.pending_tests) for w in work.waiting] == [("Novak", 2)]
    assert [p.specimen_id for p in work.awaiting_pickup] == ids
    assert work.awaiting_pickup[0].status is SpecimenStatus.COLLECTED
    assert work.recollections == ()

    with uow_factory() as uow:  # the lab rejected the tube: a recollection task opens
        uow.recollections.add(
            RecollectionTask(
                specimen_id=ids[0],
                patient_id=world.patients["ana"],
                site_id=world.site_id,
                reason="haemolysed",
                opened_at=clock.now(),
                opened_by_id=world.ma.id,
            )
        )
        uow.commit()
    with uow_factory() as uow:
        work = station_worklist(uow, clock, world.ma, "DRAW-2", "America/New_York")
    assert [(r.patient.family_name, r.reason) for r in work.recollections] == [
        ("Okafor", "Haemolysed")
    ]


@dataclass
class UnconfirmingPrinter:
    """Takes every job; the ones whose index is in ``unconfirmed`` get no healthy ~HS after."""

    unconfirmed: set[int] = field(default_factory=set)
    jobs: list[bytes] = field(default_factory=list)
    language: str = "zpl"

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        self.jobs.append(payload)
        if len(self.jobs) in self.unconfirmed:
            raise PrinterUnconfirmed("The printer did not confirm the job (head open).")

    def status(self) -> PrinterStatus:
        return PrinterStatus.ok()


@pytest.mark.parametrize("on_the_tube", [True, False], ids=["mark-printed", "reprint"])
def test_an_unconfirmed_label_is_checked_at_the_chair_never_left_as_done(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld, on_the_tube: bool
) -> None:
    printer = UnconfirmingPrinter(unconfirmed={1})
    setup = PrintSetup(
        station_code="DRAW-2", opener=lambda _uri: printer, renderer=LabelRendererAdapter()
    )
    eid, _ = _collected_encounter(uow_factory, clock, world, ("CBC", "CMP"))
    with pytest.raises(ValidationError, match="waiting to be checked"):
        check_unconfirmed(uow_factory, clock, world, setup, eid, printed=True)

    outcome = print_labels(uow_factory, clock, world, setup, eid)
    (unsure,) = outcome.unconfirmed
    assert not unsure.printed
    assert CHECK_THE_TUBE in unsure.message
    assert _kinds(uow_factory, unsure.specimen_id) == [CustodyEventKind.COLLECTED]
    # Print again does not send it twice: it waits for the MA's check.
    again = print_labels(uow_factory, clock, world, setup, eid)
    assert [label.unconfirmed for label in again.labels] == [True]
    assert len(printer.jobs) == 2

    checked = check_unconfirmed(uow_factory, clock, world, setup, eid, printed=on_the_tube)
    assert checked.all_printed
    assert [label.specimen_id for label in checked.labels] == [unsure.specimen_id]
    assert _kinds(uow_factory, unsure.specimen_id) == [
        CustodyEventKind.COLLECTED,
        CustodyEventKind.LABELLED,
    ]
    with uow_factory() as uow:
        first = uow.print_queue.get(unsure.job_id)
        assert first is not None
        assert first.status is (PrintJobStatus.DONE if on_the_tube else PrintJobStatus.FAILED)
    assert len(printer.jobs) == (2 if on_the_tube else 3)
    if not on_the_tube:
        assert b"REPRINT 1" in printer.jobs[2]
    with pytest.raises(ValidationError, match="waiting to be checked"):
        check_unconfirmed(uow_factory, clock, world, setup, eid, printed=True)


def _jobs(uows: UnitOfWorkFactory, world: StationWorld) -> list[PrintJobRow]:
    with uows() as uow:
        return list_print_jobs(uow, world.ma)


def _recording_setup(printer: FlakyPrinter | UnconfirmingPrinter) -> PrintSetup:
    return PrintSetup(
        station_code="DRAW-2",
        opener=lambda _uri: printer,
        renderer=LabelRendererAdapter(),
        label_printer_override="tcp://printer.invalid:9100",
    )


def test_print_replayed_with_its_key_queues_and_sends_nothing_twice(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    printer = FlakyPrinter()
    setup = _recording_setup(printer)
    eid, ids = _collected_encounter(uow_factory, clock, world, ("CBC", "CMP"))
    bus = MessageBus(uow_factory, clock)
    command = PrintEncounterLabels(setup=setup, encounter_id=eid)

    assert bus.handle(command, world.ma).all_printed
    with pytest.raises(AlreadyHandled, match="Print encounter labels was already recorded"):
        bus.handle(command, world.ma)  # a retry after a lost answer

    assert len(printer.jobs) == 2
    assert len(_jobs(uow_factory, world)) == 2
    for specimen_id in ids:
        assert _kinds(uow_factory, specimen_id) == [
            CustodyEventKind.COLLECTED,
            CustodyEventKind.LABELLED,
        ]


def test_a_reprint_at_the_chair_replayed_with_its_key_is_not_printed_twice(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    printer = UnconfirmingPrinter(unconfirmed={1})
    setup = _recording_setup(printer)
    eid, _ = _collected_encounter(uow_factory, clock, world, ("CBC",))
    bus = MessageBus(uow_factory, clock)
    assert bus.handle(PrintEncounterLabels(setup=setup, encounter_id=eid), world.ma).unconfirmed
    command = ResolveUnconfirmedLabels(setup=setup, encounter_id=eid, printed=False)

    assert bus.handle(command, world.ma).all_printed
    with pytest.raises(AlreadyHandled):
        bus.handle(command, world.ma)

    assert len(printer.jobs) == 2
    assert b"REPRINT 1" in printer.jobs[1]
    assert len(_jobs(uow_factory, world)) == 2


class ProcessDied(Exception):
    """The process stopped between the commit and the after-commit step."""


@dataclass(frozen=True, kw_only=True)
class PrintThenDie(Command[PrintOutcome]):
    """Test-only: Print's transactional half, then the process dies before sending."""

    setup: PrintSetup
    encounter_id: int


def _die(command: PrintThenDie, labels: EncounterLabels, after: AfterCommit) -> PrintOutcome:
    raise ProcessDied


@handler(PrintThenDie, then=_die)
def _queue_then_die(command: PrintThenDie, ctx: HandlerContext) -> EncounterLabels:
    return queue_encounter_labels(ctx.uow, ctx.clock, ctx.user, command.setup, command.encounter_id)


def test_labels_committed_by_a_process_that_died_are_sent_by_the_spooler(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, world: StationWorld
) -> None:
    printer = FlakyPrinter()
    setup = _recording_setup(printer)
    eid, ids = _collected_encounter(uow_factory, clock, world, ("CBC", "CMP"))
    bus = MessageBus(uow_factory, clock)

    with pytest.raises(ProcessDied):
        bus.handle(PrintThenDie(setup=setup, encounter_id=eid), world.ma)

    queued = _jobs(uow_factory, world)
    assert [job.status for job in queued] == [PrintJobStatus.QUEUED] * 2
    assert printer.jobs == []
    report = process_due_jobs(uow_factory, clock, setup.opener)  # the spooler's next pass
    assert sorted(report.done) == sorted(job.id for job in queued)
    assert len(printer.jobs) == 2
    for specimen_id in ids:  # the step that records the tubes labelled never ran
        assert _kinds(uow_factory, specimen_id) == [CustodyEventKind.COLLECTED]

    # The MA presses Print again: nothing prints twice, and the tubes are recorded labelled.
    again = bus.handle(PrintEncounterLabels(setup=setup, encounter_id=eid), world.ma)
    assert again.all_printed
    assert len(printer.jobs) == 2
    assert len(_jobs(uow_factory, world)) == 2
    for specimen_id in ids:
        assert _kinds(uow_factory, specimen_id) == [
            CustodyEventKind.COLLECTED,
            CustodyEventKind.LABELLED,
        ]
