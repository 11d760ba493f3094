"""Custody commands: each state-changing custody use case as a command and its handler.

Handlers adapt the use cases in this package to the bus (``labdesk.kernel.messagebus``):
the bus opens the unit of work, claims the idempotency key and commits; the use case checks
permission, does the work and writes audit.
"""

from __future__ import annotations

from dataclasses import dataclass

from labdesk.custody.dto import (
    ManifestView,
    Reconciliation,
    RejectionResult,
    ScanFeedback,
)
from labdesk.custody.events import report_lost
from labdesk.custody.manifest_print import ManifestPrinter, print_manifest
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.custody.receipt import close_receipt, open_receipt, receive_scan, reject_specimen
from labdesk.domain.loss import LossReason
from labdesk.domain.manifest import BagId
from labdesk.domain.recollection import RejectionReason
from labdesk.kernel.messagebus import Command, HandlerContext, handler


@dataclass(frozen=True, kw_only=True)
class StartPickup(Command[ManifestView]):
    """Open (or resume) the courier's manifest at a site."""

    site_code: str
    route_code: str | None = None
    station_code: str = ""


@handler(StartPickup)
def _start_pickup(command: StartPickup, ctx: HandlerContext) -> ManifestView:
    return start_pickup(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.site_code,
        route_code=command.route_code,
        station_code=command.station_code,
    )


@dataclass(frozen=True, kw_only=True)
class ScanPickup(Command[ScanFeedback]):
    """One courier scan on an open manifest: a specimen label or a bag barcode."""

    manifest_number: str
    scanned: str
    bag: BagId | None = None


@handler(ScanPickup)
def _scan_pickup(command: ScanPickup, ctx: HandlerContext) -> ScanFeedback:
    return scan_for_pickup(
        ctx.uow, ctx.clock, ctx.user, command.manifest_number, command.scanned, bag=command.bag
    )


@dataclass(frozen=True, kw_only=True)
class FinishPickup(Command[ManifestView]):
    """Close the pickup after the courier re-enters their PIN or password."""

    manifest_number: str
    secret: str
    leave_behind: bool = False

    def __repr__(self) -> str:  # never show the secret in a log or traceback
        return f"FinishPickup(manifest_number={self.manifest_number!r}, secret=***)"


@handler(FinishPickup)
def _finish_pickup(command: FinishPickup, ctx: HandlerContext) -> ManifestView:
    return finish_pickup(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.manifest_number,
        command.secret,
        leave_behind=command.leave_behind,
    )


@dataclass(frozen=True, kw_only=True)
class PrintManifest(Command[str]):
    """Print a finished manifest on the station's document printer and audit the print."""

    manifest_number: str
    printer: ManifestPrinter
    station_code: str = ""


@handler(PrintManifest)
def _print_manifest(command: PrintManifest, ctx: HandlerContext) -> str:
    return print_manifest(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.manifest_number,
        command.printer,
        station_code=command.station_code,
    )


@dataclass(frozen=True, kw_only=True)
class OpenReceipt(Command[Reconciliation]):
    """Start (or resume) receiving the manifest whose barcode the lab scanned."""

    scanned: str


@handler(OpenReceipt)
def _open_receipt(command: OpenReceipt, ctx: HandlerContext) -> Reconciliation:
    return open_receipt(ctx.uow, ctx.clock, ctx.user, command.scanned)


@dataclass(frozen=True, kw_only=True)
class ReceiveScan(Command[ScanFeedback]):
    """One lab scan of a specimen against the manifest being received."""

    manifest_number: str
    scanned: str
    damaged: bool = False


@handler(ReceiveScan)
def _receive_scan(command: ReceiveScan, ctx: HandlerContext) -> ScanFeedback:
    return receive_scan(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.manifest_number,
        command.scanned,
        damaged=command.damaged,
    )


@dataclass(frozen=True, kw_only=True)
class RejectSpecimen(Command[RejectionResult]):
    """Reject a specimen with a coded reason, which opens its recollection task."""

    accession: str
    reason: RejectionReason
    note: str = ""


@handler(RejectSpecimen)
def _reject_specimen(command: RejectSpecimen, ctx: HandlerContext) -> RejectionResult:
    return reject_specimen(
        ctx.uow, ctx.clock, ctx.user, command.accession, command.reason, note=command.note
    )


@dataclass(frozen=True, kw_only=True)
class CloseReceipt(Command[Reconciliation]):
    """Close a manifest's receipt, reporting lost the missing specimens the receiver confirmed.

    ``confirmed_missing`` holds the specimen ids the receiver was asked about; the close is
    refused if the manifest's missing specimens changed since (received meanwhile).
    """

    manifest_number: str
    confirmed_missing: frozenset[int] = frozenset()


@handler(CloseReceipt)
def _close_receipt(command: CloseReceipt, ctx: HandlerContext) -> Reconciliation:
    confirmed = command.confirmed_missing
    return close_receipt(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.manifest_number,
        report_missing_lost=bool(confirmed),
        confirmed_missing=confirmed,
    )


@dataclass(frozen=True, kw_only=True)
class ReportLost(Command[int]):
    """Report a specimen lost with a coded reason (a note required for OTHER); opens its
    recollection task, whose id is returned."""

    accession: str
    reason: LossReason
    note: str = ""
    location: str


@handler(ReportLost)
def _report_lost(command: ReportLost, ctx: HandlerContext) -> int:
    return report_lost(
        ctx.uow,
        ctx.clock,
        ctx.user,
        command.accession,
        command.reason,
        note=command.note,
        location=command.location,
    )
