"""Station contacts (issue 12 item 6): what the admin Stations view shows of each station.

Each heartbeat reports the station's clock, outbox depth, accession block left and replica
position; :func:`report_contact` keeps the latest per station and answers with the skew
(station clock minus server clock), so a station whose clock drifts is seen before its
offline times mislead anyone. :func:`list_stations` adds the reserved-but-unused accession
ranges, so the lab can tell a gap in the numbers from a lost specimen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from labdesk.adapters.downtime import contacts_repo as repo
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import Clock
from labdesk.ports import UnitOfWork

SKEW_WARNING_SECONDS = 120.0
"""Skew beyond which the Stations view highlights a station (2 minutes)."""


@dataclass(frozen=True, kw_only=True)
class ContactReport:
    """What a station's heartbeat tells the server."""

    station: str
    station_clock_at: datetime
    outbox_pending: int
    outbox_conflicts: int
    block_remaining: int
    replica_seq: int | None = None
    replica_age_seconds: float | None = None
    app_version: str = ""


@dataclass(frozen=True, kw_only=True)
class ContactAck:
    """The server's answer: its own time and the station's clock skew in seconds."""

    server_time: datetime
    skew_seconds: float


@dataclass(frozen=True, kw_only=True)
class UnusedRange:
    """Serials reserved for a station and not (yet) reported used."""

    year: int
    first: int
    last: int

    @property
    def size(self) -> int:
        """How many serials the range holds."""
        return self.last - self.first + 1


@dataclass(frozen=True, kw_only=True)
class StationContact:
    """One row of the admin Stations view."""

    station: str
    last_contact_at: datetime | None
    skew_seconds: float | None
    outbox_pending: int | None
    outbox_conflicts: int | None
    block_remaining: int | None
    replica_seq: int | None
    replica_age_seconds: float | None
    app_version: str
    unused: tuple[UnusedRange, ...] = field(default=())

    @property
    def skew_warning(self) -> bool:
        """The station's clock is off by more than :data:`SKEW_WARNING_SECONDS`."""
        return self.skew_seconds is not None and abs(self.skew_seconds) > SKEW_WARNING_SECONDS


def report_contact(server: UnitOfWorkFactory, report: ContactReport, clock: Clock) -> ContactAck:
    """Record a station's heartbeat (one row per station, replaced) and answer its skew."""
    now = clock.now()
    skew = (report.station_clock_at - now).total_seconds()
    with server() as uow:
        repo.upsert_contact(
            uow.session,
            {
                "station": report.station,
                "last_contact_at": now,
                "station_clock_at": report.station_clock_at,
                "skew_seconds": skew,
                "outbox_pending": report.outbox_pending,
                "outbox_conflicts": report.outbox_conflicts,
                "block_remaining": report.block_remaining,
                "replica_seq": report.replica_seq,
                "replica_age_seconds": report.replica_age_seconds,
                "app_version": report.app_version[:32],
            },
        )
        uow.commit()
    return ContactAck(server_time=now, skew_seconds=skew)


def list_stations(server: UnitOfWorkFactory) -> list[StationContact]:
    """Every station that reported a contact or holds an accession block, by name."""
    with server() as uow:
        return stations_in(uow)


def stations_in(uow: UnitOfWork) -> list[StationContact]:
    """:func:`list_stations` in the caller's unit of work (the UI's background queries)."""
    rows = repo.contacts(uow.session)
    ranges = repo.unused_ranges(uow.session)
    unused: dict[str, list[UnusedRange]] = {}
    for station, year, first, last in ranges:
        unused.setdefault(station, []).append(UnusedRange(year=year, first=first, last=last))
    by_name = {str(row["station"]): row for row in rows}
    result: list[StationContact] = []
    for name in sorted(set(by_name) | set(unused)):
        row = by_name.get(name)
        result.append(
            StationContact(
                station=name,
                last_contact_at=row["last_contact_at"] if row else None,
                skew_seconds=row["skew_seconds"] if row else None,
                outbox_pending=row["outbox_pending"] if row else None,
                outbox_conflicts=row["outbox_conflicts"] if row else None,
                block_remaining=row["block_remaining"] if row else None,
                replica_seq=row["replica_seq"] if row else None,
                replica_age_seconds=row["replica_age_seconds"] if row else None,
                app_version=str(row["app_version"]) if row else "",
                unused=tuple(unused.get(name, ())),
            )
        )
    return result
