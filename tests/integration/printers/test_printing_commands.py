"""Printing commands through the bus: saving a station's printers, exporting a label."""

from __future__ import annotations

import pytest
from spool_world import World, build_world, make_setup
from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import PermissionDenied
from labdesk.domain.people import Role
from labdesk.domain.printing import LabelContent
from labdesk.kernel.messagebus import AlreadyHandled, MessageBus
from labdesk.printing.commands import ExportLabel, UpdateStationPrinters
from labdesk.printing.station_printers import station_printers
from printers.errors import PrinterError

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
