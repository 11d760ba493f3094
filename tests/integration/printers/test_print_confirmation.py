"""Issue 15 item 1: a print job is done only when the printer confirmed it.

Every fault runs against the loopback fake Zebra through the real TCP transport; the
spooler tests assert the job's final state in the database (SQLite and PostgreSQL). Each
test keeps its timeouts at 0.15 s, so a silent printer costs well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fakes_printer import Behaviour, FakeZebra, ZebraState
from print_commands import print_labels
from spool_world import World, build_world, make_setup
from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.printing import CHECK_THE_TUBE, Delivery, PrintJob, PrintJobStatus
from labdesk.printing.spooler import process_due_jobs
from printers.errors import (
    PrinterError,
    PrinterNotReady,
    PrinterTimeout,
    PrinterUnconfirmed,
)
from printers.spool_adapter import open_spool_printer
from printers.tcp import TcpPrinter

pytestmark = pytest.mark.integration

TIMEOUT = 0.15
JOB = b"^XA^FO10,10^A0N,28^FDSMITH, JOHN  DOB 1970-01-01  MRN M0000042^FS^XZ" * 8


def printer(fake: FakeZebra) -> TcpPrinter:
    return TcpPrinter("127.0.0.1", fake.port, **_timeouts())


def _timeouts() -> dict[str, float]:
    return {"connect_timeout": TIMEOUT, "send_timeout": TIMEOUT, "status_timeout": TIMEOUT}


@dataclass(frozen=True)
class Fault:
    """One scripted printer fault and what the spooler must make of it."""

    name: str
    behaviour: Behaviour = Behaviour.NORMAL
    state: ZebraState = ZebraState.READY
    realistic: bool = False
    state_after_job: ZebraState | None = None
    expected: PrintJobStatus = PrintJobStatus.DONE

    def apply(self, fake: FakeZebra) -> None:
        fake.behaviour = self.behaviour
        fake.state = self.state
        fake.realistic_faults = self.realistic
        fake.state_after_job = self.state_after_job


FAULTS = [
    Fault("healthy"),
    Fault("close after 100 bytes", Behaviour.CLOSE_AFTER, expected=PrintJobStatus.SENT),
    Fault("accept, read nothing", Behaviour.HANG, expected=PrintJobStatus.QUEUED),
    Fault("paper out in ~HS", state=ZebraState.PAPER_OUT, expected=PrintJobStatus.QUEUED),
    Fault(
        "paper out, no ~HS answer",
        state=ZebraState.PAPER_OUT,
        realistic=True,
        expected=PrintJobStatus.QUEUED,
    ),
    Fault(
        "head open, no ~HS answer",
        state=ZebraState.HEAD_OPEN,
        realistic=True,
        expected=PrintJobStatus.QUEUED,
    ),
    Fault("no status answer at all", state=ZebraState.SILENT, expected=PrintJobStatus.QUEUED),
    Fault(
        "paper runs out during the job",
        state_after_job=ZebraState.PAPER_OUT,
        realistic=True,
        expected=PrintJobStatus.SENT,
    ),
    Fault(
        "answers ~HS, then reads nothing",
        Behaviour.HANG_AFTER_STATUS,
        expected=PrintJobStatus.SENT,
    ),
]


# ------------------------------------------------------------------ the transport alone


def test_a_healthy_printer_is_asked_before_and_after_the_job(fake_zebra: FakeZebra) -> None:
    printer(fake_zebra).send(JOB)
    assert fake_zebra.wait_for_jobs(1) == [JOB]
    assert fake_zebra.queries == [b"~HS", b"~HS"]


def test_a_printer_closing_mid_job_is_unconfirmed_never_done(fake_zebra: FakeZebra) -> None:
    fake_zebra.behaviour = Behaviour.CLOSE_AFTER
    with pytest.raises(PrinterError) as caught:
        printer(fake_zebra).send(JOB)
    assert caught.value.delivery is Delivery.UNCERTAIN
    assert fake_zebra.wait_for_jobs(1) == [JOB[:100]]


def test_a_printer_that_reads_nothing_gets_nothing_and_is_not_ready(
    fake_zebra: FakeZebra,
) -> None:
    fake_zebra.behaviour = Behaviour.HANG
    with pytest.raises(PrinterNotReady, match="nothing was sent") as caught:
        printer(fake_zebra).send(JOB)
    assert caught.value.delivery is Delivery.RETRY
    assert "did not answer" in caught.value.message or "no answer" in caught.value.message


@pytest.mark.parametrize("realistic", [False, True], ids=["hs-says-so", "no-hs-answer"])
@pytest.mark.parametrize(
    ("state", "problem"),
    [(ZebraState.PAPER_OUT, "paper out"), (ZebraState.HEAD_OPEN, "head open")],
)
def test_a_faulted_printer_is_checked_before_any_byte_is_sent(
    fake_zebra: FakeZebra, state: ZebraState, problem: str, realistic: bool
) -> None:
    fake_zebra.state = state
    fake_zebra.realistic_faults = realistic
    with pytest.raises(PrinterNotReady, match=problem):
        printer(fake_zebra).send(JOB)
    fake_zebra.close()  # every connection is done: what it recorded is final
    assert fake_zebra.jobs == []


def test_a_fault_after_the_job_leaves_it_unconfirmed(fake_zebra: FakeZebra) -> None:
    fake_zebra.state_after_job = ZebraState.PAPER_OUT
    fake_zebra.realistic_faults = True
    with pytest.raises(PrinterUnconfirmed, match="paper out") as caught:
        printer(fake_zebra).send(JOB)
    assert CHECK_THE_TUBE in str(caught.value)
    assert fake_zebra.wait_for_jobs(1) == [JOB]


def test_a_printer_that_stops_reading_mid_job_times_out_unconfirmed(
    fake_zebra: FakeZebra,
) -> None:
    fake_zebra.behaviour = Behaviour.HANG_AFTER_STATUS
    with pytest.raises(PrinterTimeout) as caught:
        printer(fake_zebra).send(b"^XA" + b"x" * 64_000_000 + b"^XZ")
    assert caught.value.delivery is Delivery.UNCERTAIN


# ------------------------------------------------------------------ through the spooler


@pytest.fixture
def uows(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)


@pytest.fixture
def world(uows: UnitOfWorkFactory, clock: FixedClock) -> World:
    return build_world(uows, clock)


def _stored(uows: UnitOfWorkFactory, job_ids: list[int]) -> list[tuple[PrintJobStatus, int, str]]:
    with uows() as uow:
        jobs = [uow.print_queue.get(i) for i in job_ids]
        return [(j.status, j.attempts, j.last_error) for j in jobs if j is not None]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_the_stored_state_of_each_job_matches_what_the_printer_did(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, fake_zebra: FakeZebra, fault: Fault
) -> None:
    fault.apply(fake_zebra)
    uri = f"{fake_zebra.uri}?timeout={TIMEOUT}"
    rows = print_labels(uows, clock, world.ma, make_setup(), world.accessions, printer_uri=uri)
    ids = [r.id for r in rows]
    stored = _stored(uows, ids)
    statuses = [status for status, _, _ in stored]
    with uows() as uow:
        payloads = [uow.print_queue.get(i).payload for i in ids]  # type: ignore[union-attr]
    fake_zebra.close()  # every connection is over: what the printer got is final
    received = fake_zebra.jobs

    if fault.expected is PrintJobStatus.QUEUED:
        # Found not ready before the first byte: the first job waits for a retry, the
        # printer's other jobs wait behind it untried, and nothing reached the printer.
        assert statuses == [PrintJobStatus.QUEUED, PrintJobStatus.QUEUED]
        assert [attempts for _, attempts, _ in stored] == [1, 0]
        assert "not ready" in stored[0][2]
        assert received == []
    elif fault.expected is PrintJobStatus.SENT:
        # Bytes went out but no healthy answer followed: unconfirmed, never done, not resent.
        assert statuses[0] is PrintJobStatus.SENT
        # The second job is unconfirmed too, or held because the printer is now not ready.
        assert set(statuses) <= {PrintJobStatus.SENT, PrintJobStatus.QUEUED}
        assert stored[0][2].startswith("Unconfirmed:")
        assert stored[0][2].count(CHECK_THE_TUBE) == 1
        assert rows[0].unconfirmed
        assert not rows[0].printed
    else:
        assert statuses == [PrintJobStatus.DONE, PrintJobStatus.DONE]
        assert received == payloads
    # Never wrongly done: a job is done only if the printer got every byte of it.
    for status, payload in zip(statuses, payloads, strict=True):
        if status is PrintJobStatus.DONE:
            assert received.count(payload) == 1
    # Never duplicated: no job reached the printer in full twice.
    assert all(received.count(p) <= 1 for p in payloads)


@pytest.mark.parametrize(
    "fault", [f for f in FAULTS if f.expected is PrintJobStatus.QUEUED], ids=lambda f: f.name
)
def test_jobs_held_for_a_not_ready_printer_print_once_when_it_is_fixed(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, fake_zebra: FakeZebra, fault: Fault
) -> None:
    fault.apply(fake_zebra)
    uri = f"{fake_zebra.uri}?timeout={TIMEOUT}"
    rows = print_labels(uows, clock, world.ma, make_setup(), world.accessions, printer_uri=uri)
    Fault("healthy").apply(fake_zebra)  # paper loaded, head closed, printer answering
    clock.advance(timedelta(minutes=1))
    opener = open_spool_printer
    report = process_due_jobs(uows, clock, opener)
    assert sorted(report.done) == sorted(r.id for r in rows)
    assert process_due_jobs(uows, clock, opener).handled == 0
    with uows() as uow:
        payloads = [uow.print_queue.get(r.id).payload for r in rows]  # type: ignore[union-attr]
    fake_zebra.close()
    assert fake_zebra.jobs == payloads  # each exactly once, in order


# ------------------------------------------------------------------ the final spool pass


def _queued_untried(uows: UnitOfWorkFactory) -> list[int]:
    with uows() as uow:
        jobs = [job for job, _ in uow.print_queue.recent(None, 100)]
        return [j.id for j in jobs if j.status is PrintJobStatus.QUEUED and j.attempts == 0]  # type: ignore[misc]


def test_one_pass_sends_every_due_job_not_just_the_first_batch(
    uows: UnitOfWorkFactory, clock: FixedClock, fake_zebra: FakeZebra
) -> None:
    world = build_world(uows, clock, containers=("SST", "LAV", "SST"))
    fake_zebra.state = ZebraState.PAPER_OUT  # all three wait: the first tried, two behind it
    uri = f"{fake_zebra.uri}?timeout={TIMEOUT}"
    rows = print_labels(uows, clock, world.ma, make_setup(), world.accessions, printer_uri=uri)
    assert len(_queued_untried(uows)) == 2
    fake_zebra.state = ZebraState.READY
    clock.advance(timedelta(minutes=1))
    report = process_due_jobs(uows, clock, open_spool_printer, limit=2)
    assert sorted(report.done) == sorted(r.id for r in rows)
    assert _queued_untried(uows) == []


def test_a_job_queued_while_a_pass_runs_is_sent_by_that_pass(
    uows: UnitOfWorkFactory, clock: FixedClock, world: World, fake_zebra: FakeZebra
) -> None:
    uri = f"{fake_zebra.uri}?timeout={TIMEOUT}"
    fake_zebra.state = ZebraState.PAPER_OUT
    first, _ = print_labels(uows, clock, world.ma, make_setup(), world.accessions, printer_uri=uri)
    fake_zebra.state = ZebraState.READY
    clock.advance(timedelta(minutes=1))
    late: list[int] = []

    def opener(address: str) -> TcpPrinter:
        if not late:  # a station queues another label while the pass is sending
            with uows() as uow:
                job = uow.print_queue.get(first.id)
                assert job is not None
                copy = replace_job(job)
                uow.print_queue.add(copy)
                uow.commit()
                assert copy.id is not None
                late.append(copy.id)
        return open_spool_printer(address)  # type: ignore[return-value]

    report = process_due_jobs(uows, clock, opener)
    assert late[0] in report.done
    assert _queued_untried(uows) == []


def replace_job(job: PrintJob) -> PrintJob:
    return PrintJob(
        kind=job.kind,
        printer_uri=job.printer_uri,
        station_code=job.station_code,
        created_at=job.created_at,
        content_json=job.content_json,
        payload=job.payload,
        specimen_id=job.specimen_id,
    )
