"""Queries of the custody leg: specimen locks, scans, the verifier's event stream.

The event stream is where the storage details of the chain check live: raw driver rows,
SQLite's datetimes as text, and the canonical content built from them (:func:`canonical_row`).

Every scan probes an index: the specimen by accession (unique), its ordered tests by
specimen, its latest event by (specimen, seq). Lists by site use ``(site_id, status)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import column, func, select, update

from labdesk.adapters import orm
from labdesk.adapters.append_only import guard_problems
from labdesk.adapters.repositories import _Repository
from labdesk.adapters.repositories.manifests import (
    ManifestRepository,
    RecollectionRepository,
    RouteRepository,
)
from labdesk.domain.catalog import TestDefinition
from labdesk.domain.chain_verify import GroupedRow
from labdesk.domain.custody import CustodyEvent, CustodyEventKind
from labdesk.domain.order import TestStatus
from labdesk.domain.specimen import Specimen, SpecimenStatus

#: Columns the chain verifier reads, in this order (hashed content, then the links).
EVENT_STREAM_COLUMNS = (
    "id",
    "specimen_id",
    "seq",
    "kind",
    "actor_id",
    "occurred_at",
    "recorded_at",
    "location",
    "temperature_class",
    "seal_intact",
    "container_ref",
    "reason",
    "note",
    "prev_hash",
    "hash",
    "chain_prev_hash",
    "chain_hash",
)


_enc: Callable[[str], str] = json.encoder.encode_basestring


def _sqlite_time(value: Any) -> str:
    # SQLAlchemy stores SQLite datetimes as naive UTC "YYYY-MM-DD HH:MM:SS.ffffff".
    if isinstance(value, str):
        return f"{value[:10]}T{value[11:]}+00:00"
    return _pg_time(value)


def _pg_time(value: Any) -> str:
    if isinstance(value, datetime):
        zoned = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return zoned.isoformat(timespec="microseconds")
    return str(value)


def _bool(value: Any) -> str:
    if value is None:
        return "null"
    return "true" if value else "false"


def canonical_row(row: Sequence[Any], sqlite: bool) -> str:
    """Canonical JSON of a raw event row, byte-identical to ``canonical(event.content())``.

    ``row`` follows ``EVENT_STREAM_COLUMNS``; ``sqlite`` says its datetimes are SQLite's
    text. Keys are sorted as ``json.dumps`` sorts them. This runs a million times per
    verification: it is one f-string, no dict, no callbacks.
    """
    occurred, recorded = row[5], row[6]
    if sqlite and type(occurred) is str and type(recorded) is str:
        occurred = f"{occurred[:10]}T{occurred[11:]}+00:00"
        recorded = f"{recorded[:10]}T{recorded[11:]}+00:00"
    else:
        time_of = _sqlite_time if sqlite else _pg_time
        occurred, recorded = time_of(occurred), time_of(recorded)
    temperature = row[8]
    return (
        f'{{"actor_id":{int(row[4])},"container_ref":{_enc(row[10])},"kind":{_enc(row[3])},'
        f'"location":{_enc(row[7])},"note":{_enc(row[12])},"occurred_at":"{occurred}",'
        f'"reason":{_enc(row[11])},"recorded_at":"{recorded}",'
        f'"seal_intact":{_bool(row[9])},"seq":{int(row[2])},"specimen_id":{int(row[1])},'
        f'"temperature_class":{"null" if temperature is None else _enc(temperature)}}}'
    )


@dataclass(frozen=True)
class SpecimenFacts:
    """A specimen with the names a screen shows next to it (no patient data)."""

    specimen: Specimen
    site_code: str
    container_name: str


class CustodyScanRepository(_Repository):
    """Locks and lookups behind every custody scan, plus the verifier's event stream."""

    def lock_specimen(self, specimen_id: int) -> Specimen | None:
        """Load a specimen fresh from the database and lock its row until commit.

        ``SELECT ... FOR UPDATE`` on PostgreSQL (a second workstation waits here, then sees
        the first one's committed event); SQLite's ``BEGIN IMMEDIATE`` already serialises.
        """
        stmt = (
            select(Specimen)
            .where(orm.specimens.c.id == specimen_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(stmt).first()

    def lock_by_accession(self, accession: str) -> Specimen | None:
        """Like :meth:`lock_specimen`, by accession ID."""
        stmt = (
            select(Specimen)
            .where(orm.specimens.c.accession == accession)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(stmt).first()

    def facts(self, specimen_id: int) -> tuple[str, str]:
        """Site code and container name of a specimen."""
        stmt = (
            select(orm.sites.c.code, orm.container_types.c.name)
            .select_from(orm.specimens)
            .join(orm.sites, orm.sites.c.id == orm.specimens.c.site_id)
            .join(
                orm.container_types,
                orm.container_types.c.code == orm.specimens.c.container_code,
            )
            .where(orm.specimens.c.id == specimen_id)
        )
        row = self.session.execute(stmt).first()
        return (row[0], row[1]) if row else ("", "")

    def tests_for(self, specimen_ids: Sequence[int]) -> dict[int, list[TestDefinition]]:
        """Catalog definitions of the tests each specimen carries."""
        if not specimen_ids:
            return {}
        stmt = (
            select(orm.ordered_tests.c.specimen_id, TestDefinition)
            .join(
                orm.test_definitions,
                orm.test_definitions.c.code == orm.ordered_tests.c.test_code,
            )
            .where(orm.ordered_tests.c.specimen_id.in_(specimen_ids))
        )
        found: dict[int, list[TestDefinition]] = {}
        for specimen_id, test in self.session.execute(stmt):
            found.setdefault(specimen_id, []).append(test)
        return found

    def last_event(
        self, specimen_id: int, kind: CustodyEventKind | None = None
    ) -> tuple[CustodyEvent, str] | None:
        """The specimen's latest event (of ``kind``) and its actor's display name."""
        stmt = (
            select(CustodyEvent, orm.users.c.display_name)
            .join(orm.users, orm.users.c.id == orm.custody_events.c.actor_id)
            .where(orm.custody_events.c.specimen_id == specimen_id)
            .order_by(orm.custody_events.c.seq.desc())
            .limit(1)
        )
        if kind is not None:
            stmt = stmt.where(orm.custody_events.c.kind == kind)
        row = self.session.execute(stmt).first()
        return (row[0], row[1]) if row else None

    def latest_of_kind(
        self, specimen_ids: Sequence[int], kind: CustodyEventKind
    ) -> dict[int, tuple[datetime, str]]:
        """When each specimen's latest ``kind`` event happened and who recorded it."""
        if not specimen_ids:
            return {}
        ev = orm.custody_events
        stmt = (
            select(ev.c.specimen_id, ev.c.occurred_at, orm.users.c.display_name)
            .join(orm.users, orm.users.c.id == ev.c.actor_id)
            .where(ev.c.specimen_id.in_(list(specimen_ids)))
            .where(ev.c.kind == kind)
            .order_by(ev.c.seq)
        )
        return {sid: (at, name) for sid, at, name in self.session.execute(stmt)}

    def events_with_actors(self, specimen_id: int) -> list[tuple[CustodyEvent, str]]:
        """Every event of a specimen in order, with actor display names."""
        stmt = (
            select(CustodyEvent, orm.users.c.display_name)
            .join(orm.users, orm.users.c.id == orm.custody_events.c.actor_id)
            .where(orm.custody_events.c.specimen_id == specimen_id)
            .order_by(orm.custody_events.c.seq)
        )
        return [(event, name) for event, name in self.session.execute(stmt)]

    def chain_neighbours(self, event_id: int) -> tuple[str | None, str | None]:
        """Clinic-wide chain hash of the event before ``event_id`` and link of the one after."""
        ev = orm.custody_events
        before = self.session.scalar(
            select(ev.c.chain_hash).where(ev.c.id < event_id).order_by(ev.c.id.desc()).limit(1)
        )
        after = self.session.scalar(
            select(ev.c.chain_prev_hash).where(ev.c.id > event_id).order_by(ev.c.id).limit(1)
        )
        return before, after

    def at_site(
        self, site_id: int, statuses: Sequence[SpecimenStatus], limit: int = 500
    ) -> Sequence[Specimen]:
        """Specimens of a site in some statuses, oldest collection first."""
        stmt = (
            select(Specimen)
            .where(orm.specimens.c.site_id == site_id)
            .where(orm.specimens.c.status.in_(list(statuses)))
            .order_by(orm.specimens.c.collected_at, orm.specimens.c.id)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def in_statuses(
        self, site_ids: Sequence[int], statuses: Sequence[SpecimenStatus], limit: int = 2000
    ) -> Sequence[Specimen]:
        """Specimens of any of ``site_ids`` in ``statuses`` (one ``(site, status)`` probe each)."""
        if not site_ids:
            return []
        stmt = (
            select(Specimen)
            .where(orm.specimens.c.site_id.in_(list(site_ids)))
            .where(orm.specimens.c.status.in_(list(statuses)))
            .order_by(orm.specimens.c.collected_at, orm.specimens.c.id)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def packed_in_bag(self, site_id: int, bag_id: str) -> list[int]:
        """Ids of a site's packed specimens whose packing event named ``bag_id``."""
        ev = orm.custody_events
        sp = orm.specimens
        stmt = (
            select(sp.c.id)
            .join(ev, ev.c.specimen_id == sp.c.id)
            .where(sp.c.site_id == site_id)
            .where(sp.c.status == SpecimenStatus.PACKED)
            .where(ev.c.kind == CustodyEventKind.PACKED)
            .where(ev.c.container_ref == bag_id)
            .order_by(sp.c.id)
        )
        return list(dict.fromkeys(self.session.scalars(stmt)))

    def packed_bags(self, specimen_ids: Sequence[int]) -> dict[int, str]:
        """The bag each specimen was last packed into."""
        if not specimen_ids:
            return {}
        ev = orm.custody_events
        stmt = (
            select(ev.c.specimen_id, ev.c.container_ref)
            .where(ev.c.specimen_id.in_(list(specimen_ids)))
            .where(ev.c.kind == CustodyEventKind.PACKED)
            .order_by(ev.c.seq)
        )
        return {specimen_id: bag for specimen_id, bag in self.session.execute(stmt)}

    def advance_tests(
        self, specimen_id: int, status: TestStatus, at: datetime, only: Sequence[TestStatus]
    ) -> None:
        """Move a specimen's ordered tests that are in ``only`` to ``status``."""
        stmt = (
            update(orm.ordered_tests)
            .where(orm.ordered_tests.c.specimen_id == specimen_id)
            .where(orm.ordered_tests.c.status.in_(list(only)))
            .values(status=status, status_changed_at=at)
            .execution_options(synchronize_session="fetch")
        )
        self.session.execute(stmt)

    def test_codes(self, specimen_id: int) -> list[str]:
        """Codes of the tests a specimen carries."""
        stmt = select(orm.ordered_tests.c.test_code).where(
            orm.ordered_tests.c.specimen_id == specimen_id
        )
        return list(self.session.scalars(stmt))

    def accessions(self, specimen_ids: Sequence[int]) -> dict[int, str]:
        """Accession IDs of some specimens."""
        if not specimen_ids:
            return {}
        stmt = select(orm.specimens.c.id, orm.specimens.c.accession).where(
            orm.specimens.c.id.in_(list(specimen_ids))
        )
        return {specimen_id: accession for specimen_id, accession in self.session.execute(stmt)}

    def count_events(self) -> int:
        """Number of custody events."""
        ev = orm.custody_events
        return int(self.session.scalar(select(func.count()).select_from(ev)) or 0)

    def counter_value(self, name: str) -> int | None:
        """Current value of a counter, None when it was never used (read, not incremented)."""
        value = self.session.scalar(select(orm.counters.c.value).where(orm.counters.c.name == name))
        return None if value is None else int(value)

    def stream_events(self, batch: int = 20_000) -> Iterator[GroupedRow]:
        """Every custody event for the chain check, in id order, with its canonical content.

        Yields ``(id, specimen_id, seq, content, prev_hash, hash, chain_prev_hash,
        chain_hash)``: the specimen chain is the group chain, the clinic chain the main one.
        The statement is a Core select, run on the driver's cursor: a server-side (named)
        cursor on PostgreSQL fetching ``batch`` rows at a time, SQLite's lazy cursor
        otherwise, so a million events never sit in memory at once. Skipping SQLAlchemy's
        result rows triples the throughput; :func:`canonical_row` normalises the raw values.
        """
        columns: list[Any] = [column(name) for name in EVENT_STREAM_COLUMNS]
        stmt = select(*columns).select_from(orm.custody_events).order_by(column("id"))
        connection = self.session.connection()
        sql = str(stmt.compile(dialect=connection.dialect))
        dbapi = connection.connection
        sqlite = connection.dialect.name == "sqlite"
        if connection.dialect.name == "postgresql":
            cursor = dbapi.driver_connection.cursor(name="labdesk_custody_verify")  # type: ignore[union-attr]
            cursor.itersize = batch
        else:
            cursor = dbapi.cursor()
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(batch):
                # One row at a time, so its content is hashed while it is still in the cache
                # (a batch of contents built first costs a tenth more). Integer columns come
                # back as ints from both drivers.
                for r in rows:
                    yield (r[0], r[1], r[2], canonical_row(r, sqlite), r[13], r[14], r[15], r[16])
        finally:
            cursor.close()

    def guard_problems(self) -> list[str]:
        """What is wrong with the custody table's append-only triggers (empty: in place)."""
        return guard_problems(self.session, ("custody_events",))

    def dialect(self) -> str:
        """Name of the database dialect (``sqlite`` or ``postgresql``)."""
        return self.session.get_bind().dialect.name


# Attached to the unit of work from here (one import there for the whole custody leg).
__all__ = [
    "CustodyScanRepository",
    "ManifestRepository",
    "RecollectionRepository",
    "RouteRepository",
]
