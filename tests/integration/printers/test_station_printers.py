"""Per-station printer configuration: admin only, checked, audited, overridable locally."""

from __future__ import annotations

import pytest
from spool_world import STATION, World, build_world, make_setup
from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import NotFound, PermissionDenied
from labdesk.domain.people import Role
from labdesk.printing.dto import PrintSetup
from labdesk.printing.station_printers import (
    label_printer_uri,
    station_printers,
    update_station_printers,
)
from printers.errors import PrinterConfigError

pytestmark = pytest.mark.integration


@pytest.fixture
def uows(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)


@pytest.fixture
def world(uows: UnitOfWorkFactory, clock: FixedClock) -> World:
    return build_world(uows, clock, containers=())


def _update(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, label: str, document: str
) -> None:
    with uows() as uow:
        update_station_printers(
            uow,
            clock,
            world.admin,
            make_setup(),
            label_printer_uri=label,
            document_printer_uri=document,
        )
        uow.commit()


def test_admin_sets_the_station_printers_and_the_change_is_audited(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World
) -> None:
    _update(uows, clock, world, " tcp://10.0.0.40:9100 ", "pdf:///srv/docs")
    with uows() as uow:
        printers = station_printers(uow, make_setup())
        entries = [(e.action, e.entity, e.detail) for e in uow.audit.all_in_order()]
        assert label_printer_uri(uow, make_setup()) == "tcp://10.0.0.40:9100"
    assert (printers.label_printer_uri, printers.document_printer_uri) == (
        "tcp://10.0.0.40:9100",
        "pdf:///srv/docs",
    )
    assert entries[-1] == (
        AuditAction.UPDATE,
        "station",
        "changed label printer and document printer: label=tcp://10.0.0.40:9100 "
        "document=pdf:///srv/docs",
    )
    _update(uows, clock, world, "tcp://10.0.0.40:9100", "pdf:///srv/docs")
    with uows() as uow:  # saving unchanged values writes no audit entry
        assert len(uow.audit.all_in_order()) == len(entries)


def test_a_bad_address_is_refused_and_nothing_is_saved(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World
) -> None:
    with pytest.raises(PrinterConfigError, match="Invalid printer address 'tcp://'"):
        _update(uows, clock, world, "tcp://", "")
    with uows() as uow:
        assert station_printers(uow, make_setup()).label_printer_uri == ""


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_administrators_change_printers(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, role: Role
) -> None:
    with uows() as uow, pytest.raises(PermissionDenied, match="manage stations and printers"):
        update_station_printers(
            uow,
            clock,
            world.users[role],
            make_setup(),
            label_printer_uri="tcp://10.0.0.41",
            document_printer_uri="",
        )


def test_a_local_override_wins_and_is_reported(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World
) -> None:
    _update(uows, clock, world, "tcp://10.0.0.40:9100", "")
    setup: PrintSetup = make_setup(label_printer_override="file:///tmp/labels")
    with uows() as uow:
        printers = station_printers(uow, setup)
        assert label_printer_uri(uow, setup) == "file:///tmp/labels"
    assert printers.label_printer_uri == "tcp://10.0.0.40:9100"
    assert printers.effective_label_printer == "file:///tmp/labels"


def test_an_unregistered_station_says_how_to_fix_it(uows: UnitOfWorkFactory, world: World) -> None:
    with uows() as uow, pytest.raises(NotFound, match="STATION-X is not registered") as caught:
        station_printers(uow, make_setup(station_code="STATION-X"))
    assert "LABDESK_STATION" in caught.value.hint
    assert STATION != "STATION-X"
