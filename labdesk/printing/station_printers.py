"""Per-station printers: which label and document printer each workstation uses.

Stored on the station's row (set by an administrator on the Admin page). A workstation's
config file or ``LABDESK_LABEL_PRINTER`` / ``LABDESK_DOCUMENT_PRINTER`` override the stored
value on that workstation only (the demo's virtual printer, a temporary swap).
"""

from __future__ import annotations

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.people import Station
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork
from labdesk.printing.dto import PrintSetup, StationPrinters

MAX_URI = 400


def label_printer_uri(uow: UnitOfWork, setup: PrintSetup) -> str:
    """The label printer this workstation prints to ("" when none is set)."""
    if setup.label_printer_override:
        return setup.label_printer_override
    station = uow.people.station_by_code(setup.station_code)
    return station.label_printer_uri.strip() if station is not None else ""


def station_printers(uow: UnitOfWork, setup: PrintSetup) -> StationPrinters:
    """This workstation's station with its stored printers and any local overrides.

    Printer addresses are not patient data: any signed-in user may read them (the status
    bar shows the label printer).

    Raises:
        NotFound: if the station is not registered in the database.
    """
    station = _station(uow, setup.station_code)
    return StationPrinters(
        station_code=station.code,
        station_name=station.name,
        label_printer_uri=station.label_printer_uri,
        document_printer_uri=station.document_printer_uri,
        label_override=setup.label_printer_override,
        document_override=setup.document_printer_override,
    )


def update_station_printers(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser | None,
    setup: PrintSetup,
    *,
    label_printer_uri: str,
    document_printer_uri: str,
) -> StationPrinters:
    """Store this station's printers (administrators only; audited; caller commits).

    Each non-empty address is checked (not connected to) before anything is saved.

    Raises:
        PermissionDenied: if ``actor`` may not manage stations.
        PrinterConfigError: for a malformed or unsupported printer address.
        NotFound: if the station is not registered.
    """
    if actor is not None:
        authorize(actor, Permission.MANAGE_STATIONS)
    label_uri, document_uri = label_printer_uri.strip(), document_printer_uri.strip()
    for uri in (label_uri, document_uri):
        if len(uri) > MAX_URI:
            raise ValidationError(f"A printer address may have at most {MAX_URI} characters.")
        if uri:
            setup.opener(uri)  # raises for a bad address; does not connect
    station = _station(uow, setup.station_code)
    changed = [
        name
        for name, old, new in (
            ("label printer", station.label_printer_uri, label_uri),
            ("document printer", station.document_printer_uri, document_uri),
        )
        if old != new
    ]
    station.label_printer_uri = label_uri
    station.document_printer_uri = document_uri
    if changed:
        record_audit(
            uow,
            clock,
            action=AuditAction.UPDATE,
            entity="station",
            entity_id=station.id or 0,
            user_id=actor.id if actor is not None else None,
            station=setup.station_code,
            detail=f"changed {' and '.join(changed)}: label={label_uri or '-'} "
            f"document={document_uri or '-'}",
        )
    return station_printers(uow, setup)


def _station(uow: UnitOfWork, code: str) -> Station:
    station = uow.people.station_by_code(code)
    if station is None:
        raise NotFound(
            f"Station {code} is not registered in the database.",
            hint="Set LABDESK_STATION (or station_code in the config file) to a registered "
            "station, or ask an administrator to register this one.",
        )
    return station
