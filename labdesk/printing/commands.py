"""Printing commands: each state-changing printing use case as a command and handler.

Handlers adapt the use cases in this package to the bus (``labdesk.kernel.messagebus``):
the bus opens the unit of work, claims the idempotency key and commits; the use case checks
permission, does the work and writes audit.

Printing (a label, a reprint, a test label) must not send while a transaction is open, so
its handler only queues the jobs (:mod:`labdesk.printing.jobs`), and an after-commit step
sends them (``@handler(C, then=step)``) and returns the rows. A replayed key queues and sends
nothing (``AlreadyHandled``); jobs committed by a process that died before its step are
sent by the spooler's next pass.

``actor=None`` (the command line) is allowed for every printing command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labdesk.domain.printing import LabelContent
from labdesk.kernel.messagebus import AfterCommit, Command, HandlerContext, handler
from labdesk.printing.dto import PrintJobRow, PrintSetup, StationPrinters
from labdesk.printing.jobs import (
    QueuedLabels,
    queue_reprint,
    queue_specimen_labels,
    queue_test_label,
    record_offline_specimen_labels,
    resolve_unconfirmed,
    send_queued_labels,
)
from labdesk.printing.spooler import job_row, send_job
from labdesk.printing.station_printers import update_station_printers
from labdesk.printing.views import label_for_export

# ---------------------------------------------------------------- printing labels


@dataclass(frozen=True, kw_only=True)
class PrintSpecimenLabels(Command[list[PrintJobRow]]):
    """Print the labels of specimens (one job per container); returns a row per job.

    ``printer_uri`` overrides the station's label printer (the command line's ``--printer``).
    """

    setup: PrintSetup
    accessions: tuple[str, ...]
    printer_uri: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordOfflineSpecimenLabels(Command[int]):
    """Labels printed by accession while the server was away (queued by the station).

    What ``PrintSpecimenLabels`` leaves on the server when it printed offline: an audit
    entry per patient at the time they printed. Nothing is printed again.
    """

    accessions: tuple[str, ...]
    printer_uri: str = ""
    station_code: str = ""


@handler(RecordOfflineSpecimenLabels)
def _record_offline_specimen_labels(
    command: RecordOfflineSpecimenLabels, ctx: HandlerContext
) -> int:
    return record_offline_specimen_labels(
        ctx.uow,
        ctx.clock,
        ctx.actor,
        command.accessions,
        command.printer_uri,
        command.station_code,
    )


def _send_specimen_labels(
    command: PrintSpecimenLabels, queued: QueuedLabels, after: AfterCommit
) -> list[PrintJobRow]:
    return send_queued_labels(after.uows, after.clock, command.setup, queued)


@handler(PrintSpecimenLabels, then=_send_specimen_labels)
def _queue_specimen_labels(command: PrintSpecimenLabels, ctx: HandlerContext) -> QueuedLabels:
    return queue_specimen_labels(
        ctx.uow,
        ctx.clock,
        ctx.actor,
        command.setup,
        command.accessions,
        printer_uri=command.printer_uri,
    )


@dataclass(frozen=True, kw_only=True)
class ReprintJob(Command[PrintJobRow]):
    """Reprint a label job from its snapshot, marked ``REPRINT n``, for a stated reason."""

    setup: PrintSetup
    job_id: int
    reason: str
    printer_uri: str | None = None


def _send_reprint(command: ReprintJob, job_id: int, after: AfterCommit) -> PrintJobRow:
    return send_job(after.uows, after.clock, command.setup.opener, job_id)


@handler(ReprintJob, then=_send_reprint)
def _queue_reprint(command: ReprintJob, ctx: HandlerContext) -> int:
    return queue_reprint(
        ctx.uow,
        ctx.clock,
        ctx.actor,
        command.setup,
        command.job_id,
        command.reason,
        printer_uri=command.printer_uri,
    )


@dataclass(frozen=True, kw_only=True)
class PrintTestLabel(Command[PrintJobRow]):
    """Print a test label (a fake accession that scans, no patient) on a printer now."""

    setup: PrintSetup
    printer_uri: str | None = None


def _send_test_label(command: PrintTestLabel, job_id: int, after: AfterCommit) -> PrintJobRow:
    return send_job(after.uows, after.clock, command.setup.opener, job_id)


@handler(PrintTestLabel, then=_send_test_label)
def _queue_test_label(command: PrintTestLabel, ctx: HandlerContext) -> int:
    return queue_test_label(
        ctx.uow, ctx.clock, ctx.actor, command.setup, printer_uri=command.printer_uri
    )


@dataclass(frozen=True, kw_only=True)
class ResolveUnconfirmedJob(Command[PrintJobRow]):
    """Record whether an unconfirmed job's label is on the tube (done) or not (failed)."""

    setup: PrintSetup
    job_id: int
    printed: bool


def _read_resolved(command: ResolveUnconfirmedJob, _: None, after: AfterCommit) -> PrintJobRow:
    return job_row(after.uows, command.job_id)  # as committed: nothing is sent


@handler(ResolveUnconfirmedJob, then=_read_resolved)
def _resolve_unconfirmed(command: ResolveUnconfirmedJob, ctx: HandlerContext) -> None:
    resolve_unconfirmed(
        ctx.uow, ctx.clock, ctx.actor, command.setup, command.job_id, printed=command.printed
    )


# ---------------------------------------------------------------- printers and export


@dataclass(frozen=True, kw_only=True)
class UpdateStationPrinters(Command[StationPrinters]):
    """Store this workstation's station's label and document printer addresses (audited)."""

    setup: PrintSetup
    label_printer_uri: str
    document_printer_uri: str


@handler(UpdateStationPrinters)
def _update_station_printers(
    command: UpdateStationPrinters, ctx: HandlerContext
) -> StationPrinters:
    return update_station_printers(
        ctx.uow,
        ctx.clock,
        ctx.actor,  # None: the command line, run by an administrator on the workstation
        command.setup,
        label_printer_uri=command.label_printer_uri,
        document_printer_uri=command.document_printer_uri,
    )


@dataclass(frozen=True, kw_only=True)
class ExportLabel(Command[LabelContent]):
    """Render a specimen's current label to a file, audited as an export.

    ``write`` renders and writes the label (the printer layer, which the core never
    imports). It runs inside the command's transaction: if it fails, the export is not
    recorded.
    """

    station_code: str
    accession: str
    write: Callable[[LabelContent], None]


@handler(ExportLabel)
def _export_label(command: ExportLabel, ctx: HandlerContext) -> LabelContent:
    content = label_for_export(
        ctx.uow, ctx.clock, ctx.actor, command.station_code, command.accession
    )
    command.write(content)
    return content
