"""Printing commands: the state-changing printing use cases that run in one transaction.

Handlers adapt the use cases in this package to the bus (``labdesk.kernel.messagebus``):
the bus opens the unit of work, claims the idempotency key and commits; the use case checks
permission, does the work and writes audit.

Printing itself (:mod:`labdesk.printing.jobs`: a label, a test label, a reprint) is not a
command: each job is committed in its own transaction before a byte goes to the printer, and
its outcome recorded in another, so those services are handed the unit-of-work factory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labdesk.domain.printing import LabelContent
from labdesk.kernel.messagebus import Command, HandlerContext, handler
from labdesk.printing.dto import PrintSetup, StationPrinters
from labdesk.printing.station_printers import update_station_printers
from labdesk.printing.views import label_for_export


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
