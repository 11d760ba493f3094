"""The printed courier manifest: what goes on it, and the port that prints it.

The core builds a :class:`ManifestDocument` (specimen ID, container, temperature class,
site: never a patient name or DOB) and hands it to a :class:`ManifestPrinter`, which the
front end injects (``printers.manifest_pdf`` renders it with reportlab to the station's
document printer). The core never imports the printers package.
"""

from __future__ import annotations

from typing import Protocol

from labdesk.custody import views
from labdesk.custody.events import require_any
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import CustodyError, NotFound
from labdesk.domain.manifest import ManifestDocument, ManifestLine, ManifestStatus
from labdesk.domain.permissions import Permission
from labdesk.domain.timefmt import format_local
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork


class ManifestPrinter(Protocol):
    """Prints manifests (implemented outside the core, injected by the front end)."""

    def print_manifest(self, document: ManifestDocument) -> str:
        """Print ``document``; return where it went, for the confirmation message.

        Raises:
            LabdeskError: a subclass (PrinterError) when it cannot be printed.
        """
        ...


def manifest_document(
    uow: UnitOfWork, clock: Clock, actor: SignedInUser, number: str
) -> ManifestDocument:
    """What the manifest sheet shows (times in the pickup site's zone).

    Raises:
        NotFound: unknown manifest.
        CustodyError: the pickup is still open (print it once it is finished).
    """
    require_any(actor, Permission.PICK_UP_SPECIMENS, Permission.RECEIVE_SPECIMENS)
    manifest = uow.manifests.by_number(number.strip())
    if manifest is None:
        raise NotFound(f"No manifest {number.strip()}.")
    if manifest.status is ManifestStatus.OPEN:
        raise CustodyError(
            f"Manifest {manifest.number} is still open.",
            hint="Finish the pickup (PIN) before printing the manifest.",
        )
    site = uow.people.site(manifest.site_id)
    tz = site.timezone if site else "UTC"
    route = uow.routes.get(manifest.route_id) if manifest.route_id is not None else None
    courier = uow.people.user(manifest.courier_id)
    rows = views.manifest_rows(uow, manifest)
    return ManifestDocument(
        number=manifest.number,
        site_code=site.code if site else "?",
        site_name=site.name if site else "?",
        destination=views.site_code(uow, route.to_site_id) if route else "",
        route=f"{route.code} ({route.transit_minutes} min)" if route else "",
        courier=courier.display_name if courier else "?",
        station_code=manifest.station_code,
        started_at=format_local(manifest.started_at, tz),
        finished_at=format_local(manifest.finished_at, tz),
        printed_at=format_local(clock.now(), tz),
        lines=tuple(
            ManifestLine(
                accession=row.accession,
                container=row.container_code,
                temperature_class=row.temperature_class,
                site_code=row.site_code,
                bag_id=row.bag_id,
            )
            for row in rows
            if row.expected
        ),
    )


def print_manifest(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    number: str,
    printer: ManifestPrinter,
    *,
    station_code: str = "",
) -> str:
    """Print a finished manifest and audit the print (commits the audit entry).

    Returns:
        Where the manifest went (from the printer), for the confirmation message.

    Raises:
        PrinterError: (a LabdeskError) when the printer fails; nothing is audited then.
    """
    document = manifest_document(uow, clock, actor, number)
    where = printer.print_manifest(document)
    record_audit(
        uow,
        clock,
        action=AuditAction.PRINT,
        entity="manifest",
        entity_id=document.number,
        actor=actor,
        station=station_code,
        detail=f"{len(document.lines)} specimen(s)",
    )
    uow.commit()
    return where
