"""Bad input and printer failures: each job is kept with a reason, never dropped or resent."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from fakes_printer import FakeZebra
from print_commands import print_labels
from spool_world import World, build_world, make_setup
from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import InvalidAccession, NotFound, PermissionDenied
from labdesk.domain.people import Role
from labdesk.domain.printing import PrintJobStatus
from labdesk.printing.dto import LabelSettings
from labdesk.printing.spooler import process_due_jobs
from labdesk.printing.views import list_print_jobs, printer_status
from printers.errors import (
    PrinterError,
    PrinterOffline,
    PrinterRejected,
    PrinterTimeout,
    PrinterUnreachable,
)
from printers.spool_adapter import open_spool_printer
from printers.status import PrinterStatus

pytestmark = pytest.mark.integration


class ScriptedPrinter:
    """Takes ZPL and fails every send with ``error``."""

    language = "zpl"

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.sends = 0

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        self.sends += 1
        raise self.error

    def status(self) -> PrinterStatus:
        return PrinterStatus.failed("scripted")


@pytest.fixture
def uows(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)


@pytest.fixture
def world(uows: UnitOfWorkFactory, clock: FixedClock) -> World:
    return build_world(uows, clock, containers=("SST",))


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (PrinterOffline("Cannot connect."), PrintJobStatus.QUEUED, "Cannot connect."),
        (PrinterTimeout("Stalled."), PrintJobStatus.SENT, "Unconfirmed: Stalled."),
        (PrinterUnreachable("Link lost."), PrintJobStatus.SENT, "Unconfirmed: Link lost."),
        (PrinterRejected("No such queue."), PrintJobStatus.FAILED, "No such queue."),
        (RuntimeError("bug"), PrintJobStatus.SENT, "Unconfirmed: RuntimeError: bug"),
    ],
    ids=["offline", "timeout", "link-lost", "rejected", "bug"],
)
def test_a_failed_send_keeps_the_job_with_what_it_means(
    uows: UnitOfWorkFactory,
    clock: FixedClock,
    error: Exception,
    status: PrintJobStatus,
    text: str,
) -> None:
    printer = ScriptedPrinter(error)
    setup = replace(make_setup(), opener=lambda _uri: printer)

    world = build_world(uows, clock, containers=("SST", "LAV"))
    rows = print_labels(uows, clock, world.ma, setup, world.accessions, printer_uri="tcp://printer")

    offline = status is PrintJobStatus.QUEUED
    # An offline printer is not tried again for the order's second label: it waits.
    assert printer.sends == (1 if offline else 2)
    for row in rows:
        assert row.status is status
        assert row.last_error.startswith(text)
        assert row.unconfirmed is (status is PrintJobStatus.SENT)
    clock.advance(timedelta(hours=1))
    process_due_jobs(uows, clock, setup.opener)
    # Only jobs where nothing reached the printer are ever tried again.
    assert printer.sends == 2
    with uows() as uow:
        assert sorted(r.id for r in list_print_jobs(uow, world.ma)) == [r.id for r in rows]


@pytest.mark.parametrize(
    ("uri", "preset", "mrn", "text"),
    [
        ("ftp://printer", "2x1-203", "M0000042", "Invalid printer address 'ftp://printer'"),
        ("", "2x1-203", "M0000042", "has no label printer"),
        (None, "4x6-999", "M0000042", "Unknown label preset '4x6-999'"),
        (None, "2x1-203", "W" * 24, "does not fit on the label"),
    ],
    ids=["bad-uri", "no-printer", "unknown-preset", "does-not-fit"],
)
def test_a_job_that_cannot_print_is_kept_as_failed_with_the_reason(
    uows: UnitOfWorkFactory,
    clock: FixedClock,
    fake_zebra: FakeZebra,
    uri: str | None,
    preset: str,
    mrn: str,
    text: str,
) -> None:
    world = build_world(uows, clock, containers=("SST",), mrn=mrn)
    setup = replace(make_setup(), labels=LabelSettings(preset=preset))
    printer_uri = fake_zebra.uri if uri is None else uri or None  # "": the station's (none)
    (row,) = print_labels(uows, clock, world.ma, setup, world.accessions, printer_uri=printer_uri)
    assert row.status is PrintJobStatus.FAILED
    assert text in row.last_error
    assert fake_zebra.wait_for_jobs(1, timeout=0.2) == []


def test_unknown_or_malformed_accessions_create_no_job(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, fake_zebra: FakeZebra
) -> None:
    setup = make_setup()
    with pytest.raises(InvalidAccession, match="check digit"):
        print_labels(uows, clock, world.ma, setup, ["2600000015"])
    with pytest.raises(NotFound, match="No specimen has accession ID 2500000012"):
        print_labels(uows, clock, world.ma, setup, ["2500000012"])
    with pytest.raises(NotFound):  # all checked before any job is created
        print_labels(uows, clock, world.ma, setup, [world.accessions[0], "2500000012"])
    with uows() as uow:
        assert list_print_jobs(uow, world.ma) == []


@pytest.mark.parametrize("role", [Role.COURIER, Role.CLINICIAN])
def test_roles_without_label_printing_are_refused(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, role: Role
) -> None:
    with pytest.raises(PermissionDenied, match="print specimen labels"):
        print_labels(uows, clock, world.users[role], make_setup(), world.accessions)


def test_station_printer_is_used_unless_this_workstation_overrides_it(
    uows: UnitOfWorkFactory, clock: FixedClock, fake_zebra: FakeZebra, closed_port: int
) -> None:
    world = build_world(uows, clock, containers=("SST",), station_printer=fake_zebra.uri)
    (row,) = print_labels(uows, clock, world.ma, make_setup(), world.accessions)
    assert (row.printer_uri, row.status) == (fake_zebra.uri, PrintJobStatus.DONE)
    offline = f"tcp://127.0.0.1:{closed_port}"
    setup = make_setup(label_printer_override=offline)
    (row,) = print_labels(uows, clock, world.ma, setup, world.accessions)
    assert (row.printer_uri, row.status) == (offline, PrintJobStatus.QUEUED)


def test_printer_status_never_calls_silence_or_a_bad_address_ready(
    fake_zebra: FakeZebra, closed_port: int
) -> None:
    assert printer_status(open_spool_printer, fake_zebra.uri).ready
    for uri in ("", "ftp://x", f"tcp://127.0.0.1:{closed_port}?timeout=0.5"):
        check = printer_status(open_spool_printer, uri)
        assert not check.ready
        assert check.summary


def test_every_printer_error_says_what_to_do_with_the_job() -> None:
    for cls in (PrinterOffline, PrinterTimeout, PrinterUnreachable, PrinterRejected):
        assert issubclass(cls, PrinterError)
        assert cls("x").delivery.value in {"retry", "failed", "uncertain"}
