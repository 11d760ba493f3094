"""The printing commands sent the way a screen sends them: one call each, through a bus.

Each helper builds the command with a fresh idempotency key and hands it to a
:class:`~labdesk.kernel.messagebus.MessageBus` over the test's factory and clock, so the
printer tests run the handler's transaction and the after-commit send exactly as the app
does.
"""

from __future__ import annotations

from collections.abc import Sequence

from labdesk.domain.clock import Clock
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import MessageBus
from labdesk.ports import UowFactory
from labdesk.printing.commands import (
    PrintSpecimenLabels,
    PrintTestLabel,
    ReprintJob,
    ResolveUnconfirmedJob,
)
from labdesk.printing.dto import PrintJobRow, PrintSetup


def print_labels(
    uows: UowFactory,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    accessions: Sequence[str],
    *,
    printer_uri: str | None = None,
) -> list[PrintJobRow]:
    """Send :class:`PrintSpecimenLabels`: a row per job, in the order of ``accessions``."""
    command = PrintSpecimenLabels(
        setup=setup, accessions=tuple(accessions), printer_uri=printer_uri
    )
    return MessageBus(uows, clock).handle(command, actor)


def reprint(
    uows: UowFactory,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    job_id: int,
    reason: str,
    *,
    printer_uri: str | None = None,
) -> PrintJobRow:
    """Send :class:`ReprintJob`: the reprint's row."""
    command = ReprintJob(setup=setup, job_id=job_id, reason=reason, printer_uri=printer_uri)
    return MessageBus(uows, clock).handle(command, actor)


def print_test(
    uows: UowFactory,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    *,
    printer_uri: str | None = None,
) -> PrintJobRow:
    """Send :class:`PrintTestLabel`: the test job's row."""
    return MessageBus(uows, clock).handle(
        PrintTestLabel(setup=setup, printer_uri=printer_uri), actor
    )


def resolve(
    uows: UowFactory,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    job_id: int,
    *,
    printed: bool,
) -> PrintJobRow:
    """Send :class:`ResolveUnconfirmedJob`: the job's row as committed."""
    command = ResolveUnconfirmedJob(setup=setup, job_id=job_id, printed=printed)
    return MessageBus(uows, clock).handle(command, actor)
