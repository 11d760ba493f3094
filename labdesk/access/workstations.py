"""Managing sites and workstations (administrators only; audited; caller commits).

A workstation names itself by ``station_code`` in its config; the code must be registered
here for the station's stored printers and audit entries to mean something. Printer
addresses are set on the printers panel (:mod:`labdesk.printing.station_printers`), which can check
them against the printer layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import Clock
from labdesk.domain.errors import NotFound, ValidationError
from labdesk.domain.people import Site, Station
from labdesk.domain.permissions import Permission
from labdesk.kernel.audit import record_audit
from labdesk.kernel.dto import SignedInUser, authorize
from labdesk.ports import UnitOfWork

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")


@dataclass(frozen=True)
class SiteRow:
    """A clinic or lab site."""

    id: int
    code: str
    name: str
    timezone: str
    is_lab: bool


@dataclass(frozen=True)
class StationRow:
    """A workstation with its site and stored printers."""

    id: int
    code: str
    name: str
    site_code: str
    label_printer_uri: str
    document_printer_uri: str


def _code(text: str, what: str) -> str:
    code = text.strip().upper()
    if not CODE_RE.fullmatch(code):
        raise ValidationError(
            f"'{code[:32]}' is not a valid {what} code.",
            hint="Use 1 to 32 capital letters, digits, hyphens or underscores, e.g. DRAW-2.",
        )
    return code


def list_sites(uow: UnitOfWork, clock: Clock, actor: SignedInUser) -> list[SiteRow]:
    """Every site by code."""
    authorize(actor, Permission.MANAGE_STATIONS)
    return [
        SiteRow(id=s.id or 0, code=s.code, name=s.name, timezone=s.timezone, is_lab=s.is_lab)
        for s in uow.people.sites()
    ]


def list_stations(uow: UnitOfWork, clock: Clock, actor: SignedInUser) -> list[StationRow]:
    """Every workstation by code."""
    authorize(actor, Permission.MANAGE_STATIONS)
    sites = {s.id: s.code for s in uow.people.sites()}
    return [_station_row(s, sites) for s in uow.people.stations()]


def _station_row(station: Station, sites: dict[int | None, str]) -> StationRow:
    return StationRow(
        id=station.id or 0,
        code=station.code,
        name=station.name,
        site_code=sites.get(station.site_id, ""),
        label_printer_uri=station.label_printer_uri,
        document_printer_uri=station.document_printer_uri,
    )


def save_site(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    *,
    code: str,
    name: str,
    timezone: str,
    is_lab: bool = False,
) -> SiteRow:
    """Create a site or update the one with ``code``.

    Raises:
        ValidationError: bad code, empty name or unknown time zone.
    """
    authorize(actor, Permission.MANAGE_STATIONS)
    site_code = _code(code, "site")
    if not name.strip():
        raise ValidationError("A site needs a name.")
    try:
        ZoneInfo(timezone.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            f"'{timezone[:64]}' is not a known time zone.", hint="Use e.g. America/Chicago."
        ) from exc
    site = uow.people.site_by_code(site_code)
    action = AuditAction.UPDATE if site is not None else AuditAction.CREATE
    if site is None:
        site = Site(code=site_code, name=name.strip(), timezone=timezone.strip(), is_lab=is_lab)
        uow.people.add(site)
    else:
        site.name, site.timezone, site.is_lab = name.strip(), timezone.strip(), is_lab
    uow.people.flush()
    assert site.id is not None
    record_audit(
        uow, clock, action=action, entity="site", entity_id=site.id, detail=site_code, actor=actor
    )
    return SiteRow(site.id, site.code, site.name, site.timezone, site.is_lab)


def save_station(
    uow: UnitOfWork,
    clock: Clock,
    actor: SignedInUser,
    *,
    code: str,
    name: str,
    site_code: str,
) -> StationRow:
    """Register a workstation or rename / move the one with ``code``.

    Raises:
        ValidationError: bad code or empty name.
        NotFound: unknown site.
    """
    authorize(actor, Permission.MANAGE_STATIONS)
    station_code = _code(code, "station")
    if not name.strip():
        raise ValidationError("A station needs a name, e.g. 'Phlebotomy chair 2'.")
    site = uow.people.site_by_code(site_code.strip().upper())
    if site is None or site.id is None:
        raise NotFound(f"Site {site_code[:32]} does not exist.", hint="Create the site first.")
    station = uow.people.station_by_code(station_code)
    action = AuditAction.UPDATE if station is not None else AuditAction.CREATE
    if station is None:
        station = Station(code=station_code, name=name.strip(), site_id=site.id)
        uow.people.add(station)
    else:
        station.name, station.site_id = name.strip(), site.id
    uow.people.flush()
    assert station.id is not None
    record_audit(
        uow,
        clock,
        action=action,
        entity="station",
        entity_id=station.id,
        detail=f"{station_code} at {site.code}",
        actor=actor,
    )
    return _station_row(station, {site.id: site.code})
