"""Copying scoped rows from the server into the station file, generically over the schema.

Both sides carry the same tables (the station file runs the same migrations), so rows are
read from the server and written to the station with SQLAlchemy Core over the shared
``metadata``; nothing here knows a column by name except the scope rules and the edges.

Which rows a station keeps is a server-side predicate per table (:func:`scope_filters`),
used unchanged by the first copy (every row in scope) and by incremental refreshes (only
the changed keys, re-checked against the same predicate). A row that changed and is no
longer in scope (an order completed, a user who has not signed in here for a month) is
deleted locally. A change can move other rows in or out of scope (a new order brings its
patient), so after each table the refresh re-checks the rows that refer to, or are referred
to by, the rows it changed (:data:`EDGES`), in dependency order (:data:`ORDER`).

The replica is a partial copy: an order's provider or a tube's collector may be a user the
station does not hold, so the copy runs with SQLite's foreign-key checks off on its own
connection (the server is the record of integrity).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    delete,
    insert,
    or_,
    select,
    union,
)

from labdesk.adapters.orm import audit_entries, metadata, ordered_tests, orders, specimens
from labdesk.adapters.orm import stations as stations_table
from labdesk.adapters.orm.custody import manifest_items, manifests, recollection_tasks
from labdesk.adapters.orm.station import encounters
from labdesk.adapters.replica.triggers import RULES
from labdesk.domain.audit import AuditAction
from labdesk.domain.encounter import EncounterStatus
from labdesk.domain.manifest import ManifestStatus
from labdesk.domain.order import OrderStatus
from labdesk.domain.recollection import RecollectionStatus
from labdesk.domain.specimen import SpecimenStatus

KEYS: dict[str, str] = {rule.table: rule.key for rule in RULES}
"""Each replicated table's logged key column."""

ORDER: tuple[str, ...] = (
    "sites",
    "stations",
    "routes",
    "container_types",
    "test_definitions",
    "preparation_rules",
    "pediatric_tubes",
    "series_steps",
    "users",
    "orders",
    "recollection_tasks",
    "manifests",
    "encounters",
    "ordered_tests",
    "timed_draws",
    "manifest_items",
    "specimens",
    "collection_details",
    "test_reservations",
    "preparation_answers",
    "patients",
    "patient_identifiers",
    "patient_weights",
)
"""Dependency order: a table comes after every table whose changes can move its rows."""


@dataclass(frozen=True)
class Edge:
    """A change to ``source`` rows re-checks ``target`` rows where target_col = source_col."""

    source: str
    source_col: str
    target: str
    target_col: str


EDGES: tuple[Edge, ...] = (
    Edge("orders", "id", "ordered_tests", "order_id"),
    Edge("orders", "id", "timed_draws", "order_id"),
    Edge("orders", "patient_id", "patients", "id"),
    Edge("recollection_tasks", "specimen_id", "specimens", "id"),
    Edge("recollection_tasks", "patient_id", "patients", "id"),
    Edge("manifests", "id", "manifest_items", "manifest_id"),
    Edge("encounters", "patient_id", "patients", "id"),
    Edge("ordered_tests", "specimen_id", "specimens", "id"),
    Edge("manifest_items", "specimen_id", "specimens", "id"),
    Edge("specimens", "id", "collection_details", "specimen_id"),
    Edge("specimens", "id", "test_reservations", "specimen_id"),
    Edge("specimens", "id", "preparation_answers", "specimen_id"),
    Edge("specimens", "patient_id", "patients", "id"),
    Edge("patients", "id", "patient_identifiers", "patient_id"),
    Edge("patients", "id", "patient_weights", "patient_id"),
)

_WAITING = (
    SpecimenStatus.COLLECTED,
    SpecimenStatus.LABELLED,
    SpecimenStatus.VERIFIED,
    SpecimenStatus.PACKED,
)
"""Specimen states that mean "still at the site, waiting for the courier"."""
_CHUNK = 500


def table(name: str) -> Table:
    """The shared-metadata table ``name``."""
    return metadata.tables[name]


def site_of(server: Connection, station: str) -> int | None:
    """The site id of ``station`` on the server (None: the station is not set up)."""
    found = server.execute(
        select(stations_table.c.site_id).where(stations_table.c.code == station)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def scope_filters(
    station: str, site_id: int, order_cutoff: datetime, user_cutoff: datetime
) -> dict[str, ColumnElement[bool] | None]:
    """Per table, the server-side predicate of the rows the station keeps (None: all)."""
    t = table
    open_orders = select(orders.c.id).where(
        orders.c.status == OrderStatus.ACTIVE, orders.c.ordered_at >= order_cutoff
    )
    tasks = recollection_tasks.c
    open_tasks = and_(tasks.status == RecollectionStatus.OPEN, tasks.site_id == site_id)
    open_manifests = select(manifests.c.id).where(
        manifests.c.status == ManifestStatus.OPEN, manifests.c.site_id == site_id
    )
    open_encounters = and_(
        encounters.c.status == EncounterStatus.OPEN, encounters.c.station_code == station
    )
    kept_specimens: Select[Any] = select(specimens.c.id).where(
        or_(
            and_(specimens.c.site_id == site_id, specimens.c.status.in_(_WAITING)),
            specimens.c.id.in_(
                select(ordered_tests.c.specimen_id).where(ordered_tests.c.order_id.in_(open_orders))
            ),
            specimens.c.id.in_(select(tasks.specimen_id).where(open_tasks)),
            specimens.c.id.in_(
                select(manifest_items.c.specimen_id).where(
                    manifest_items.c.manifest_id.in_(open_manifests)
                )
            ),
        )
    )
    kept_patients = union(
        select(orders.c.patient_id).where(orders.c.id.in_(open_orders)),
        select(tasks.patient_id).where(open_tasks),
        select(specimens.c.patient_id).where(specimens.c.id.in_(kept_specimens)),
        select(encounters.c.patient_id).where(open_encounters),
    )
    signed_in = select(audit_entries.c.user_id).where(
        audit_entries.c.station == station,
        audit_entries.c.action.in_((AuditAction.SIGN_IN, AuditAction.UNLOCK)),
        audit_entries.c.outcome == "success",
        audit_entries.c.at >= user_cutoff,
    )
    return {
        **{name: None for name in ORDER[:8]},
        "users": t("users").c.id.in_(signed_in),
        "orders": orders.c.id.in_(open_orders),
        "recollection_tasks": open_tasks,
        "manifests": manifests.c.id.in_(open_manifests),
        "encounters": open_encounters,
        "ordered_tests": ordered_tests.c.order_id.in_(open_orders),
        "timed_draws": t("timed_draws").c.order_id.in_(open_orders),
        "manifest_items": manifest_items.c.manifest_id.in_(open_manifests),
        "specimens": specimens.c.id.in_(kept_specimens),
        "collection_details": t("collection_details").c.specimen_id.in_(kept_specimens),
        "test_reservations": t("test_reservations").c.specimen_id.in_(kept_specimens),
        "preparation_answers": t("preparation_answers").c.specimen_id.in_(kept_specimens),
        "patients": t("patients").c.id.in_(kept_patients),
        "patient_identifiers": t("patient_identifiers").c.patient_id.in_(kept_patients),
        "patient_weights": t("patient_weights").c.patient_id.in_(kept_patients),
    }


def _pk(tbl: Table, row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c.name] for c in tbl.primary_key.columns)


def _chunks(values: Collection[Any]) -> Iterable[list[Any]]:
    items = sorted(values, key=repr)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _rows(
    conn: Connection, tbl: Table, wanted: Mapping[str, Collection[Any]], scope: Any
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows of ``tbl`` where any ``col IN values`` of ``wanted`` holds (and ``scope``)."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for col, values in wanted.items():
        for chunk in _chunks(values):
            where: ColumnElement[bool] = tbl.c[col].in_(chunk)
            if scope is not None:
                where = and_(where, scope)
            for row in conn.execute(select(tbl).where(where)).mappings():
                values = dict(row)
                found[_pk(tbl, values)] = values
    return found


def _delete(local: Connection, tbl: Table, keys: Iterable[tuple[Any, ...]]) -> None:
    cols = list(tbl.primary_key.columns)
    for key in keys:
        local.execute(delete(tbl).where(and_(*(c == v for c, v in zip(cols, key, strict=True)))))


def typed_keys(name: str, raw: Iterable[str]) -> set[Any]:
    """Logged keys (text) as the key column's Python type."""
    kind = table(name).c[KEYS[name]].type.python_type
    return {kind(value) if kind is not str else value for value in raw}


def apply_changes(
    server: Connection,
    local: Connection,
    changed: Mapping[str, Collection[Any]],
    scopes: Mapping[str, ColumnElement[bool] | None] | None,
) -> int:
    """Re-check the changed keys (and what they move) against the server; returns rows written.

    ``scopes`` None re-fetches the named rows whatever their scope (:func:`pull`).
    """
    wanted: dict[str, dict[str, set[Any]]] = {}
    for name, keys in changed.items():
        if keys:
            wanted.setdefault(name, {}).setdefault(KEYS[name], set()).update(keys)
    written = 0
    for name in ORDER:
        if name not in wanted:
            continue
        tbl = table(name)
        scope = None if scopes is None else scopes[name]
        fresh = _rows(server, tbl, wanted[name], scope)
        old = _rows(local, tbl, wanted[name], None)
        gone = [k for k in old if k not in fresh]
        new = [k for k, row in fresh.items() if old.get(k) != row]
        _delete(local, tbl, gone + [k for k in new if k in old])
        if new:
            local.execute(insert(tbl), [fresh[k] for k in new])
        written += len(gone) + len(new)
        moved = [old[k] for k in gone] + [fresh[k] for k in new] + [old[k] for k in new if k in old]
        for edge in EDGES:
            if edge.source == name and moved:
                values = {row[edge.source_col] for row in moved} - {None}
                if values:
                    wanted.setdefault(edge.target, {}).setdefault(edge.target_col, set()).update(
                        values
                    )
    return written


def copy_all(
    server: Connection, local: Connection, scopes: Mapping[str, ColumnElement[bool] | None]
) -> int:
    """Replace every replicated table's local rows with the server's rows in scope."""
    written = 0
    for name in reversed(ORDER):
        local.execute(delete(table(name)))
    for name in ORDER:
        tbl = table(name)
        scope = scopes[name]
        query = select(tbl) if scope is None else select(tbl).where(scope)
        batch: list[dict[str, Any]] = []
        for row in server.execute(query).mappings():
            batch.append(dict(row))
            if len(batch) >= 5000:
                local.execute(insert(tbl), batch)
                written += len(batch)
                batch = []
        if batch:
            local.execute(insert(tbl), batch)
            written += len(batch)
    return written
