"""The print spooler against a loopback Zebra: exactly once, offline retries, restarts."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from fakes_printer import FakeZebra
from print_commands import print_labels, print_test, reprint, resolve
from spool_world import STATION, World, build_world, decode_png, make_setup
from sqlalchemy import Engine

from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import ValidationError
from labdesk.domain.label_snapshot import LabelSnapshot
from labdesk.domain.printing import PrintJobKind, PrintJobStatus
from labdesk.printing.dto import PrintSetup
from labdesk.printing.spooler import BACKOFF_BASE, process_due_jobs
from labdesk.printing.views import job_preview, list_print_jobs
from printers.spool_adapter import LabelRendererAdapter, open_spool_printer

pytestmark = pytest.mark.integration


def job_status(uows: UnitOfWorkFactory, job_id: int) -> PrintJobStatus:
    with uows() as uow:
        job = uow.print_queue.get(job_id)
        assert job is not None
        return job.status


@pytest.fixture
def uows(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)


@pytest.fixture
def world(uows: UnitOfWorkFactory, clock: FixedClock) -> World:
    return build_world(uows, clock)


def test_print_sends_each_job_once_and_its_preview_scans(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, fake_zebra: FakeZebra
) -> None:
    rows = print_labels(
        uows, clock, world.ma, make_setup(), world.accessions, printer_uri=fake_zebra.uri
    )

    assert [r.status for r in rows] == [PrintJobStatus.DONE, PrintJobStatus.DONE]
    assert [r.accession for r in rows] == world.accessions
    received = fake_zebra.wait_for_jobs(2)
    with uows() as uow:
        payloads = [uow.print_queue.get(r.id).payload for r in rows]  # type: ignore[union-attr]
    assert received == payloads  # one connection per job, in order
    assert rows[0].preview_png is not None  # rendered for the screen once the bytes are out
    assert rows[1].preview_png is None  # the others on demand, from the stored snapshot
    for row, accession in zip(rows, world.accessions, strict=True):
        assert decode_png(job_preview(uows, world.ma, make_setup(), row.id)) == [accession]
    assert len(fake_zebra.wait_for_jobs(3, timeout=0.3)) == 2  # nothing sent twice


def test_offline_printer_keeps_jobs_and_prints_once_when_back(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, closed_port: int
) -> None:
    uri = f"tcp://127.0.0.1:{closed_port}"
    rows = print_labels(uows, clock, world.ma, make_setup(), world.accessions[:1], printer_uri=uri)
    row = rows[0]
    assert row.status is PrintJobStatus.QUEUED
    assert "Cannot connect" in row.last_error
    assert row.next_attempt_at == clock.now() + BACKOFF_BASE

    assert process_due_jobs(uows, clock, open_spool_printer).handled == 0  # not due yet
    clock.advance(BACKOFF_BASE)
    report = process_due_jobs(uows, clock, open_spool_printer)
    assert report.retrying == (row.id,)  # still offline: back-off doubles
    with uows() as uow:
        job = uow.print_queue.get(row.id)
        assert job is not None
        assert (job.attempts, job.next_attempt_at) == (2, clock.now() + 2 * BACKOFF_BASE)

    printer = FakeZebra(port=closed_port)  # the printer comes back at its address
    try:
        clock.advance(2 * BACKOFF_BASE)
        assert process_due_jobs(uows, clock, open_spool_printer).done == (row.id,)
        assert process_due_jobs(uows, clock, open_spool_printer).handled == 0
        assert len(printer.wait_for_jobs(1)) == 1
        assert len(printer.wait_for_jobs(2, timeout=0.3)) == 1
    finally:
        printer.close()
    assert job_status(uows, row.id) is PrintJobStatus.DONE


def test_restart_with_queued_jobs_loses_none(
    sqlite_url: str, clock: FixedClock, closed_port: int
) -> None:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    uows = UnitOfWorkFactory(engine)
    world = build_world(uows, clock, containers=("SST", "LAV", "SST"))
    uri = f"tcp://127.0.0.1:{closed_port}"
    rows = print_labels(uows, clock, world.ma, make_setup(), world.accessions, printer_uri=uri)
    assert {r.status for r in rows} == {PrintJobStatus.QUEUED}
    engine.dispose()  # the app stops

    restarted = make_engine(sqlite_url)  # a new process opens the same file
    printer = FakeZebra(port=closed_port)
    try:
        clock.advance(timedelta(minutes=1))
        report = process_due_jobs(UnitOfWorkFactory(restarted), clock, open_spool_printer)
        assert sorted(report.done) == sorted(r.id for r in rows)
        received = printer.wait_for_jobs(3)
        assert len(printer.wait_for_jobs(4, timeout=0.3)) == 3
    finally:
        printer.close()
        restarted.dispose()
    for accession in world.accessions:
        assert sum(accession.encode() in job for job in received) == world.accessions.count(
            accession
        )


def test_concurrent_workers_never_send_a_job_twice(
    uows: UnitOfWorkFactory, clock: FixedClock, closed_port: int
) -> None:
    world = build_world(uows, clock, containers=("SST", "LAV") * 4)
    uri = f"tcp://127.0.0.1:{closed_port}"
    rows = print_labels(uows, clock, world.ma, make_setup(), world.accessions, printer_uri=uri)
    clock.advance(timedelta(minutes=10))
    printer = FakeZebra(port=closed_port)
    barrier = threading.Barrier(4)
    done: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        report = process_due_jobs(uows, clock, open_spool_printer)
        with lock:
            done.extend(report.done)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(done) == sorted(r.id for r in rows)  # each job claimed by one worker
        assert len(printer.wait_for_jobs(len(rows))) == len(rows)
        assert len(printer.wait_for_jobs(len(rows) + 1, timeout=0.3)) == len(rows)
    finally:
        printer.close()


def test_claim_is_won_by_exactly_one_caller(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, closed_port: int
) -> None:
    uri = f"tcp://127.0.0.1:{closed_port}"
    (row,) = print_labels(
        uows, clock, world.ma, make_setup(), world.accessions[:1], printer_uri=uri
    )
    clock.advance(timedelta(minutes=1))
    wins = []
    for _ in range(2):
        with uows() as uow:
            wins.append(uow.print_queue.claim(row.id, clock.now()) is not None)
            uow.commit()
    assert wins == [True, False]


def test_job_left_sent_by_a_crash_is_unconfirmed_and_never_resent(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, closed_port: int
) -> None:
    uri = f"tcp://127.0.0.1:{closed_port}"
    (row,) = print_labels(
        uows, clock, world.ma, make_setup(), world.accessions[:1], printer_uri=uri
    )
    clock.advance(timedelta(minutes=1))
    with uows() as uow:  # a worker claims the job, then the program dies before sending
        assert uow.print_queue.claim(row.id, clock.now())
        uow.commit()
    with pytest.raises(ValidationError, match="being sent right now"):
        resolve(uows, clock, world.ma, make_setup(), row.id, printed=True)
    printer = FakeZebra(port=closed_port)
    try:
        clock.advance(timedelta(hours=1))
        assert process_due_jobs(uows, clock, open_spool_printer).handled == 0
        assert printer.wait_for_jobs(1, timeout=0.3) == []
    finally:
        printer.close()
    with uows() as uow:
        (listed,) = list_print_jobs(uow, world.ma)
    assert listed.unconfirmed

    # The MA checks the tube: no label. The job is closed as not printed, then reprinted.
    checked = resolve(uows, clock, world.ma, make_setup(), row.id, printed=False)
    assert checked.status is PrintJobStatus.FAILED
    assert checked.last_error.startswith("Checked: did not print.")
    with pytest.raises(ValidationError, match="not unconfirmed"):
        resolve(uows, clock, world.ma, make_setup(), row.id, printed=True)
    printer = FakeZebra(port=closed_port)
    try:
        again = reprint(
            uows, clock, world.ma, make_setup(), row.id, "no label on the tube", printer_uri=uri
        )
        assert again.printed
        assert b"REPRINT 1" in printer.wait_for_jobs(1)[0]
    finally:
        printer.close()


def test_offline_printer_holds_its_other_jobs_so_labels_keep_their_order(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, closed_port: int
) -> None:
    uri = f"tcp://127.0.0.1:{closed_port}"
    setup = make_setup()
    first, second = print_labels(uows, clock, world.ma, setup, world.accessions, printer_uri=uri)
    assert first.next_attempt_at == second.next_attempt_at == clock.now() + BACKOFF_BASE


def test_stat_flag_fields_and_collection_time_in_the_clinic_zone(
    uows: UnitOfWorkFactory, clock: FixedClock, fake_zebra: FakeZebra
) -> None:
    world = build_world(uows, clock, containers=("SST",), stat=True)
    (row,) = print_labels(
        uows, clock, world.ma, make_setup(), world.accessions, printer_uri=fake_zebra.uri
    )
    with uows() as uow:
        job = uow.print_queue.get(row.id)
        assert job is not None
        (label,) = LabelSnapshot.from_json(job.content_json).labels
        payload = job.payload.decode()
    # 2026-03-02 13:50 UTC is 07:50 in Chicago (CST, UTC-6).
    assert label.collected_at == "2026-03-02 07:50"
    assert (label.family_name, label.mrn, label.birth_date) == ("O'Brien", "M0000042", "1984-03-05")
    assert (label.collector_initials, label.tests, label.specimen_type) == (
        "MA",
        ("CMP", "LIPID"),
        "serum",
    )
    assert label.container == "SST 5 mL"
    assert label.cap_colour == "gold"
    assert label.stat
    assert "^FDSTAT^FS" in payload
    assert "O'BRIEN, Siobhán" in payload


def test_extra_labels_per_container_are_aliquot_labels(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, fake_zebra: FakeZebra
) -> None:
    setup = make_setup()
    setup = PrintSetup(
        station_code=STATION,
        opener=open_spool_printer,
        renderer=LabelRendererAdapter(),
        labels=type(setup.labels)(copies=1, copies_by_container={"SST": 3}),
    )
    sst, lav = print_labels(
        uows, clock, world.ma, setup, world.accessions, printer_uri=fake_zebra.uri
    )
    with uows() as uow:
        sst_job, lav_job = (uow.print_queue.get(r.id) for r in (sst, lav))
        assert sst_job is not None
        assert lav_job is not None
        assert sst_job.payload.count(b"^XA") == 3
        assert lav_job.payload.count(b"^XA") == 1
        assert b"ALQ 1" in sst_job.payload
        assert b"ALQ 2" in sst_job.payload
        labels = LabelSnapshot.from_json(sst_job.content_json).labels
    assert [label.aliquot for label in labels] == ["", "1", "2"]


def test_test_label_scans_and_is_never_queued_for_later(
    uows: UnitOfWorkFactory,
    clock: FixedClock,
    world: World,
    fake_zebra: FakeZebra,
    closed_port: int,
) -> None:
    row = print_test(uows, clock, world.admin, make_setup(), printer_uri=fake_zebra.uri)
    assert row.status is PrintJobStatus.DONE
    assert row.kind is PrintJobKind.TEST
    assert decode_png(row.preview_png) == ["0000000013"]
    offline = print_test(
        uows, clock, world.admin, make_setup(), printer_uri=f"tcp://127.0.0.1:{closed_port}"
    )
    assert offline.status is PrintJobStatus.FAILED
    assert "Cannot connect" in offline.last_error


def test_file_printer_writes_the_job_and_its_preview(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, tmp_path: Path
) -> None:
    (row,) = print_labels(
        uows,
        clock,
        world.ma,
        make_setup(),
        world.accessions[:1],
        printer_uri=(tmp_path / "p").as_uri(),
    )
    assert row.printed
    assert decode_png((tmp_path / "p" / "0001.png").read_bytes()) == world.accessions[:1]
    assert (tmp_path / "p" / "0001.zpl").read_bytes().startswith(b"^XA")
