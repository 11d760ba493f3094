"""The spooler: sends persisted print jobs exactly once, retrying offline printers.

Life of a job: ``queued`` → (claimed) ``sent`` → ``done``; or back to ``queued`` with
``last_error`` and a later ``next_attempt_at`` when nothing reached the printer; or
``failed`` with the reason when waiting cannot help. A job is claimed (queued → sent) in
its own committed transaction before a single byte goes out, so two workers or stations
never both send it. ``done`` means the printer confirmed the job (the transport's
``send`` returns only then). A job still ``sent`` afterwards (the program died mid-send,
the connection broke off mid-job, or the printer gave no healthy answer after it) is
*unconfirmed*: it may have printed, so it is shown to the
user and never resent automatically; a person reprints it, with a reason, if the label is
missing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from labdesk.domain.clock import Clock
from labdesk.domain.errors import LabdeskError, NotFound
from labdesk.domain.printing import (
    CHECK_THE_TUBE,
    ClaimedJob,
    Delivery,
    PrintDeliveryError,
    PrintJobKind,
    PrintJobStatus,
)
from labdesk.domain.retry import RetryPolicy
from labdesk.ports import PrinterOpener, UnitOfWork, UowFactory
from labdesk.printing.dto import PrintJobRow, SpoolReport

logger = logging.getLogger(__name__)

PRINT_RETRY = RetryPolicy(base=timedelta(seconds=5), cap=timedelta(minutes=5))
"""Offline printers: 5 s, 10 s, 20 s ... at most 5 minutes, for ever (a person sees the queue)."""
BACKOFF_BASE = PRINT_RETRY.base
BACKOFF_MAX = PRINT_RETRY.cap
DUE_BATCH = 50
UNCONFIRMED_HINT = CHECK_THE_TUBE


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 5 s, 10 s, 20 s … capped at 5 minutes."""
    return PRINT_RETRY.delay(attempts)


def error_text(error: BaseException) -> str:
    """What went wrong and what to do, in one line for ``last_error``."""
    return str(error) if isinstance(error, LabdeskError) else f"{type(error).__name__}: {error}"


def send_job(uows: UowFactory, clock: Clock, opener: PrinterOpener, job_id: int) -> PrintJobRow:
    """Send job ``job_id`` now if it is due and nobody else has it; return its state.

    A job that is not queued (already sent, failed, or taken by another worker) is left
    alone; the returned row says where it stands.

    Raises:
        NotFound: if there is no such job.
    """
    claim_and_send(uows, clock, opener, job_id)
    return job_row(uows, job_id, with_preview=True)


def send_jobs(
    uows: UowFactory, clock: Clock, opener: PrinterOpener, job_ids: Sequence[int]
) -> list[PrintJobRow]:
    """Send the jobs of one print action in order; return their rows in that order.

    Each job is claimed on its own just before it goes out and its outcome is recorded
    right after, so a printer failing mid-order leaves exactly the labels it did not take
    to be sent again, and a crash leaves at most one job unconfirmed. When the printer
    turns out to be offline, the rest of its jobs wait for the retry without being tried.
    """
    _send_in_order(uows, clock, opener, job_ids)
    return job_rows(uows, job_ids, with_preview=True)


def process_due_jobs(
    uows: UowFactory,
    clock: Clock,
    opener: PrinterOpener,
    *,
    station_code: str | None = None,
    limit: int = DUE_BATCH,
) -> SpoolReport:
    """Send every due queued job (of ``station_code``, or all stations when None).

    The app calls this periodically off the UI thread; ``labdesk label spool`` and scripts
    call it directly. Safe to run on several workers at once. When a printer is found
    offline, its other queued jobs wait too, so labels keep their order.

    Jobs are read ``limit`` at a time, in id order, until none is left, so a pass leaves
    no due job untried: neither those past the first batch nor one queued while the pass
    ran. Each job is tried at most once per pass.
    """
    outcomes: dict[int, PrintJobStatus] = {}
    offline: set[str] = set()
    after_id = 0  # Jobs are read in id order: a batch never hands out a job twice.
    while True:
        with uows() as uow:
            due = uow.print_queue.due_ids(clock.now(), station_code, limit, after_id=after_id)
        if not due:
            break
        after_id = due[-1]
        outcomes.update(_send_in_order(uows, clock, opener, due, offline))
    report: dict[PrintJobStatus, list[int]] = {status: [] for status in PrintJobStatus}
    for job_id, status in outcomes.items():
        report[status].append(job_id)
    return SpoolReport(
        done=tuple(report[PrintJobStatus.DONE]),
        retrying=tuple(report[PrintJobStatus.QUEUED]),
        failed=tuple(report[PrintJobStatus.FAILED]),
        unconfirmed=tuple(report[PrintJobStatus.SENT]),
    )


def claim_and_send(
    uows: UowFactory, clock: Clock, opener: PrinterOpener, job_id: int
) -> PrintJobStatus | None:
    """Claim, send and record one job; None when it was not ours to send."""
    return _send_in_order(uows, clock, opener, [job_id]).get(job_id)


_Sent = tuple[ClaimedJob, Delivery | None, str]


def _send_in_order(
    uows: UowFactory,
    clock: Clock,
    opener: PrinterOpener,
    job_ids: Sequence[int],
    offline: set[str] | None = None,
) -> dict[int, PrintJobStatus]:
    """Claim, send and record each job in turn; the new status of each job this sent.

    Recording one job's outcome and claiming the next share a transaction (claims are
    committed before anything is sent, so the claim semantics are unchanged). Printers
    found offline are added to ``offline`` and their later jobs are skipped.
    """
    outcomes: dict[int, PrintJobStatus] = {}
    offline = set() if offline is None else offline
    sent: _Sent | None = None
    for job_id in [*job_ids, None]:
        with uows() as uow:
            if sent is not None:
                status = _record(uow, clock, *sent)
                outcomes[sent[0].id] = status
                if status is PrintJobStatus.QUEUED:
                    offline.add(sent[0].printer_uri)
            job = (
                uow.print_queue.claim(job_id, clock.now(), skip_printers=offline)
                if job_id is not None
                else None
            )
            uow.commit()
        sent = (job, *_send(opener, job)) if job is not None else None
    return outcomes


def _send(opener: PrinterOpener, job: ClaimedJob) -> tuple[Delivery | None, str]:
    """Send a claimed job: (None, "") when the printer took it, else what failed."""
    try:
        opener(job.printer_uri).send(job.payload, preview_png=job.preview_png)
    except PrintDeliveryError as exc:
        # An unconfirmed job gets the one "check the tube" hint from _record, not two.
        text = exc.message if exc.delivery is Delivery.UNCERTAIN else error_text(exc)
        return exc.delivery, text
    except LabdeskError as exc:
        return Delivery.FAILED, error_text(exc)
    except Exception as exc:  # A bug while sending: whether anything printed is unknown.
        logger.exception("print job %s: unexpected error while sending", job.id)
        return Delivery.UNCERTAIN, error_text(exc)
    logger.info("print job %s sent to %s", job.id, job.printer_uri)
    return None, ""


# Failures are recorded on the job (last_error), where users see them; the log only traces.
def _record(
    uow: UnitOfWork, clock: Clock, job: ClaimedJob, delivery: Delivery | None, text: str
) -> PrintJobStatus:
    """Record the outcome of a sent job (the caller commits)."""
    queue = uow.print_queue
    if delivery is None:
        queue.finish(job.id, PrintJobStatus.DONE)
        return PrintJobStatus.DONE
    # A test label is for someone standing at the printer now: report, never retry later.
    if delivery is Delivery.RETRY and job.kind is not PrintJobKind.TEST:
        until = PRINT_RETRY.next_attempt_at(job.attempts, clock.now())
        queue.finish(job.id, PrintJobStatus.QUEUED, last_error=text, next_attempt_at=until)
        # The printer's other queued jobs wait too, so labels keep their order.
        queue.postpone(job.printer_uri, until, text)
        logger.info("print job %s queued again until %s: %s", job.id, until, text)
        return PrintJobStatus.QUEUED
    if delivery is Delivery.UNCERTAIN:
        queue.finish(
            job.id, PrintJobStatus.SENT, last_error=f"Unconfirmed: {text} {UNCONFIRMED_HINT}"
        )
        logger.info("print job %s unconfirmed: %s", job.id, text)
        return PrintJobStatus.SENT
    queue.finish(job.id, PrintJobStatus.FAILED, last_error=text)
    logger.info("print job %s failed: %s", job.id, text)
    return PrintJobStatus.FAILED


def job_row(uows: UowFactory, job_id: int, *, with_preview: bool = False) -> PrintJobRow:
    """The current state of one job.

    Raises:
        NotFound: if there is no such job.
    """
    return job_rows(uows, [job_id], with_preview=with_preview)[0]


def job_rows(
    uows: UowFactory, job_ids: Sequence[int], *, with_preview: bool = False
) -> list[PrintJobRow]:
    """The current state of several jobs, in the order of ``job_ids``.

    Raises:
        NotFound: if one of them does not exist.
    """
    with uows() as uow:
        found = {
            job.id: PrintJobRow.of(job, accession, with_preview=with_preview)
            for job, accession in uow.print_queue.by_ids(job_ids)
        }
    missing = [job_id for job_id in job_ids if job_id not in found]
    if missing:
        raise NotFound(f"There is no print job {missing[0]}.", hint="Check the job number.")
    return [found[job_id] for job_id in job_ids]
