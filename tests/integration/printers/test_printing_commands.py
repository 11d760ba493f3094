"""Printing commands through the bus: printing, saving a station's printers, exporting.

A print is queued in the command's transaction and sent by its after-commit step: a replayed
key prints nothing twice, and jobs left by a process that died before its step are sent by
the spooler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fakes_printer import FakeZebra
from spool_world import World, build_world, make_setup
from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import PermissionDenied
from labdesk.domain.people import Role
from labdesk.domain.printing import LabelContent, PrintJobStatus
from labdesk.kernel.messagebus import (
    AfterCommit,
    AlreadyHandled,
    Command,
    HandlerContext,
    MessageBus,
    handler,
)
from labdesk.printing.commands import (
    ExportLabel,
    PrintSpecimenLabels,
    PrintTestLabel,
    ReprintJob,
    UpdateStationPrinters,
)
from labdesk.printing.dto import PrintJobRow, PrintSetup
from labdesk.printing.jobs import QueuedLabels, queue_specimen_labels
from labdesk.printing.spooler import process_due_jobs
from labdesk.printing.station_printers import station_printers
from labdesk.printing.views import list_print_jobs
from printers.errors import PrinterError
from printers.spool_adapter import open_spool_printer

pytestmark = pytest.mark.integration


@pytest.fixture
def uows(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)


@pytest.fixture
def bus(uows: UnitOfWorkFactory, clock: FixedClock) -> MessageBus:
    return MessageBus(uows, clock)


@pytest.fixture
def world(uows: UnitOfWorkFactory, clock: FixedClock) -> World:
    return build_world(uows, clock, containers=("SST",))


def _audit(uows: UnitOfWorkFactory) -> list[tuple[AuditAction, str, str]]:
    with uows() as uow:
        return [(e.action, e.entity, e.detail) for e in uow.audit.all_in_order()]


def test_update_station_printers_saves_audits_and_is_done_once(
    bus: MessageBus, uows: UnitOfWorkFactory, world: World
) -> None:
    command = UpdateStationPrinters(
        setup=make_setup(),
        label_printer_uri=" tcp://10.0.0.40:9100 ",
        document_printer_uri="pdf:///srv/docs",
    )
    saved = bus.handle(command, world.admin)
    assert (saved.label_printer_uri, saved.document_printer_uri) == (
        "tcp://10.0.0.40:9100",
        "pdf:///srv/docs",
    )
    with uows() as uow:
        assert station_printers(uow, make_setup()).label_printer_uri == "tcp://10.0.0.40:9100"
    audited = _audit(uows)
    assert audited[-1][:2] == (AuditAction.UPDATE, "station")
    with pytest.raises(AlreadyHandled):
        bus.handle(command, world.admin)
    assert _audit(uows) == audited


def test_update_station_printers_is_for_administrators(
    bus: MessageBus, uows: UnitOfWorkFactory, world: World
) -> None:
    command = UpdateStationPrinters(
        setup=make_setup(), label_printer_uri="tcp://10.0.0.40:9100", document_printer_uri=""
    )
    with pytest.raises(PermissionDenied):
        bus.handle(command, world.users[Role.MEDICAL_ASSISTANT])
    with uows() as uow:
        assert station_printers(uow, make_setup()).label_printer_uri == ""


def test_export_label_writes_then_records_the_export(
    bus: MessageBus, uows: UnitOfWorkFactory, world: World
) -> None:
    written: list[LabelContent] = []
    before = len(_audit(uows))
    command = ExportLabel(
        station_code=world.station_code, accession=world.accessions[0], write=written.append
    )
    content = bus.handle(command, world.ma)
    assert content.accession == world.accessions[0]
    assert written == [content]
    audited = _audit(uows)
    assert len(audited) == before + 1
    assert audited[-1] == (AuditAction.EXPORT, "specimen", "label rendered to a file")


def test_export_label_that_cannot_be_written_is_not_recorded(
    bus: MessageBus, uows: UnitOfWorkFactory, world: World
) -> None:
    def refuse(_content: LabelContent) -> None:
        raise PrinterError("Cannot write /nowhere/label.zpl.", hint="Choose a writable file.")

    before = _audit(uows)
    command = ExportLabel(
        station_code=world.station_code, accession=world.accessions[0], write=refuse
    )
    with pytest.raises(PrinterError):
        bus.handle(command, world.ma)
    assert _audit(uows) == before


# ---------------------------------------------------------------- printing


def _jobs(uows: UnitOfWorkFactory, world: World) -> list[PrintJobRow]:
    with uows() as uow:
        return list_print_jobs(uow, world.ma)


def _labels(world: World, uri: str) -> Command[list[PrintJobRow]]:
    return PrintSpecimenLabels(
        setup=make_setup(), accessions=tuple(world.accessions), printer_uri=uri
    )


def _reprint_of_the_first(bus: MessageBus, world: World, uri: str) -> Command[PrintJobRow]:
    (original,) = bus.handle(_labels(world, uri), world.ma)
    return ReprintJob(
        setup=make_setup(), job_id=original.id, reason="label smudged", printer_uri=uri
    )


def _test_label(world: World, uri: str) -> Command[PrintJobRow]:
    return PrintTestLabel(setup=make_setup(), printer_uri=uri)


@pytest.mark.parametrize(
    ("make", "jobs_before"),
    [
        (lambda bus, world, uri: _labels(world, uri), 0),
        (_reprint_of_the_first, 1),
        (lambda bus, world, uri: _test_label(world, uri), 0),
    ],
    ids=["labels", "reprint", "test-label"],
)
def test_a_print_replayed_with_its_key_creates_no_job_and_sends_nothing(
    bus: MessageBus,
    uows: UnitOfWorkFactory,
    world: World,
    fake_zebra: FakeZebra,
    make: Callable[[MessageBus, World, str], Command[object]],
    jobs_before: int,
) -> None:
    command = make(bus, world, fake_zebra.uri)
    assert len(_jobs(uows, world)) == jobs_before
    bus.handle(command, world.ma)
    sent = fake_zebra.wait_for_jobs(jobs_before + 1)
    audited = _audit(uows)

    with pytest.raises(AlreadyHandled):
        bus.handle(command, world.ma)  # a retry after a lost answer

    assert len(_jobs(uows, world)) == jobs_before + 1
    assert fake_zebra.wait_for_jobs(len(sent) + 1, timeout=0.3) == sent
    assert _audit(uows) == audited


class ProcessDied(Exception):
    """The process stopped between the commit and the after-commit step."""


@dataclass(frozen=True, kw_only=True)
class PrintLabelsThenDie(Command[list[PrintJobRow]]):
    """Test-only: PrintSpecimenLabels' transactional half, then the process dies."""

    setup: PrintSetup
    accessions: tuple[str, ...]
    printer_uri: str


def _die(command: PrintLabelsThenDie, queued: QueuedLabels, after: AfterCommit) -> None:
    raise ProcessDied


@handler(PrintLabelsThenDie, then=_die)
def _queue_then_die(command: PrintLabelsThenDie, ctx: HandlerContext) -> QueuedLabels:
    return queue_specimen_labels(
        ctx.uow,
        ctx.clock,
        ctx.actor,
        command.setup,
        command.accessions,
        printer_uri=command.printer_uri,
    )


def test_labels_committed_by_a_process_that_died_are_sent_by_the_spoolers_next_pass(
    bus: MessageBus,
    uows: UnitOfWorkFactory,
    clock: FixedClock,
    world: World,
    fake_zebra: FakeZebra,
) -> None:
    command = PrintLabelsThenDie(
        setup=make_setup(), accessions=tuple(world.accessions), printer_uri=fake_zebra.uri
    )
    with pytest.raises(ProcessDied):
        bus.handle(command, world.ma)

    (queued,) = _jobs(uows, world)
    assert queued.status is PrintJobStatus.QUEUED
    assert fake_zebra.wait_for_jobs(1, timeout=0.3) == []
    with pytest.raises(AlreadyHandled):  # the key was committed with the job
        bus.handle(command, world.ma)

    report = process_due_jobs(uows, clock, open_spool_printer)
    assert report.done == (queued.id,)
    assert len(fake_zebra.wait_for_jobs(1)) == 1
    (done,) = _jobs(uows, world)
    assert done.printed
    assert process_due_jobs(uows, clock, open_spool_printer).handled == 0
    assert len(fake_zebra.wait_for_jobs(2, timeout=0.3)) == 1
