"""Refreshing a station's replica from the server: a first copy, then only what changed.

The first call copies every row in the station's scope (:class:`ReplicaScope`) and records
the server's newest ``replica_log`` seq in the station file (``station_meta`` key
``replica_seq``). Later calls read only the log entries after that seq, re-check those rows
(and the rows they move in or out of scope) against the server, and upsert or delete them
locally: never a full reload, unless the server's log was pruned past that seq
(:mod:`labdesk.replica.prune`): then the scope is copied again, as the first time. Each call
is one local transaction, which also records ``replica_refreshed_at``. The station file's
own ``replica_log`` (its triggers come with the migrations) then keeps only what offline
work changed: the refresh removes the entries its own writes made, in the same transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from labdesk.adapters.downtime.station_store import StationStore, store_meta
from labdesk.adapters.orm import metadata, orders, users
from labdesk.adapters.orm.replica import replica_log
from labdesk.adapters.replica.copy import (
    KEYS,
    ORDER,
    apply_changes,
    copy_all,
    scope_filters,
    site_of,
    table,
    typed_keys,
)
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import Clock
from labdesk.domain.errors import NotFound
from labdesk.replica.scope import ReplicaScope

SEQ_KEY = "replica_seq"
REFRESHED_KEY = "replica_refreshed_at"
BATCH = 20_000
"""At most this many log entries per refresh (one local transaction); the next call goes on."""
HOLES_KEY = "replica_holes"
HOLE_GRACE = timedelta(minutes=10)
"""How long a missing log number is looked for again.

On PostgreSQL a log number is taken when a row changes, but becomes visible only when its
transaction commits: a refresh can see 41 and 43 while 42 still runs. 42 is then a *hole*:
the position moves on to 43, and each refresh asks for the holes again until they appear or
are older than this (a rolled-back transaction leaves a hole for ever)."""
MAX_HOLES = 1_000
"""Only the last this many numbers below the position are remembered as holes."""


@dataclass(frozen=True)
class RefreshReport:
    """What one refresh did."""

    rows: int
    """Local rows written or deleted."""
    seq: int
    """The server log seq the replica now reflects."""
    seconds: float
    full: bool
    """True for the first copy (or a copy again after the log was pruned past the replica)."""


def _meta(local: Connection, key: str) -> str | None:
    value = local.execute(select(store_meta.c.value).where(store_meta.c.key == key)).scalar()
    return None if value is None else str(value)


def _set_meta(local: Connection, key: str, value: str) -> None:
    stmt = sqlite_insert(store_meta).values(key=key, value=value)
    local.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


@contextmanager
def _local(store: StationStore) -> Iterator[Connection]:
    """One transaction on the station file with foreign-key checks off (a partial copy)."""
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, so it takes effect
        try:
            with conn.begin():
                before = conn.execute(select(func.max(replica_log.c.seq))).scalar() or 0
                yield conn
                conn.execute(delete(replica_log).where(replica_log.c.seq > before))
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def _scopes(server: Connection, scope: ReplicaScope, now: datetime) -> Any:
    site = site_of(server, scope.station)
    if site is None:
        raise NotFound(
            f"Station {scope.station} is not set up on the server: nothing to replicate.",
            hint="Ask an administrator to add this station (Admin page), or set "
            "LABDESK_STATION to a station that exists.",
        )
    return scope_filters(scope.station, site, scope.order_cutoff(now), scope.user_cutoff(now))


def refresh_replica(
    server: UnitOfWorkFactory, store: StationStore, scope: ReplicaScope, clock: Clock
) -> RefreshReport:
    """Bring the replica up to date with the server (see the module docstring).

    Raises:
        NotFound: the station is not set up on the server.
        StorageError: the server or the station file cannot be used (nothing changes).
    """
    started = time.perf_counter()
    now = clock.now()
    with server.engine.connect() as remote, _local(store) as local:
        scopes = _scopes(remote, scope, now)
        position = _meta(local, SEQ_KEY)
        last = int(position or 0)
        full = position is None
        entries: list[Row[Any, Any, Any]] = []
        holes: dict[int, datetime] = {}
        if not full:
            entries, holes = _entries_after(remote, local, last, now)
            # Asked only after the entries are read: a prune deletes only a prefix of the
            # log, so an oldest entry still at or below last + 1 now means nothing after
            # ``last`` had gone when they were read.
            full = _pruned_past(remote, last)
        if full:
            seq = int(remote.execute(select(func.max(replica_log.c.seq))).scalar() or 0)
            holes = _running_below(remote, seq, now)  # before the copy reads a row
            rows = copy_all(remote, local, scopes)
            _set_meta(local, HOLES_KEY, _holes_json(holes))
        else:
            raw: dict[str, set[str]] = {}
            for entry in entries:
                if entry.table_name in KEYS:
                    raw.setdefault(entry.table_name, set()).add(entry.row_id)
            changed = {name: typed_keys(name, ids) for name, ids in raw.items()}
            for name, keys in _aged_out(local).items():
                changed.setdefault(name, set()).update(keys)
            seq = max([last, *(int(e.seq) for e in entries)])
            seen = {int(e.seq) for e in entries}
            for missing in range(max(last + 1, seq - MAX_HOLES), seq):
                if missing not in seen:
                    holes.setdefault(missing, now)
            _set_meta(local, HOLES_KEY, _holes_json(holes))
            rows = apply_changes(remote, local, changed, scopes)
        _set_meta(local, SEQ_KEY, str(seq))
        _set_meta(local, REFRESHED_KEY, now.isoformat())
    return RefreshReport(rows, seq, time.perf_counter() - started, full)


def _entries_after(
    remote: Connection, local: Connection, last: int, now: datetime
) -> tuple[list[Row[Any, Any, Any]], dict[int, datetime]]:
    """The server's log entries after ``last`` (at most BATCH), and the remembered holes.

    Returns the entries (those filling a hole first) and the holes still missing.
    """
    holes = _holes(local, now)
    entries: list[Row[Any, Any, Any]] = list(
        remote.execute(
            select(replica_log.c.seq, replica_log.c.table_name, replica_log.c.row_id)
            .where(replica_log.c.seq > last)
            .order_by(replica_log.c.seq)
            .limit(BATCH)
        ).all()
    )
    if holes:
        late = remote.execute(
            select(replica_log.c.seq, replica_log.c.table_name, replica_log.c.row_id).where(
                replica_log.c.seq.in_(sorted(holes))
            )
        ).all()
        for entry in late:
            holes.pop(int(entry.seq), None)
        entries = [*late, *entries]
    # An expired hole was asked for once more just now: forgotten only if still missing.
    return entries, {seq: at for seq, at in holes.items() if now - at <= HOLE_GRACE}


def _pruned_past(remote: Connection, last: int) -> bool:
    """True when the server's log no longer holds every entry after ``last``.

    Its oldest entry is above ``last + 1`` (:mod:`labdesk.replica.prune` deletes a prefix),
    or it is empty although the station has applied entries (the prune always keeps the
    newest, so an emptied log was cleared some other way, e.g. a restored server).
    """
    oldest = remote.execute(select(func.min(replica_log.c.seq))).scalar()
    if oldest is None:
        return last > 0
    return int(oldest) > last + 1


def _running_below(remote: Connection, seq: int, now: datetime) -> dict[int, datetime]:
    """Log numbers below ``seq`` not visible yet, as holes for a copy up to ``seq``.

    On PostgreSQL a transaction that took such a number may commit after the copy read its
    table; the copy then lacks its rows, so the number is asked for again like any hole.
    Only the last MAX_HOLES numbers count, and none below the oldest entry seen (pruned).
    """
    present = set(
        remote.execute(
            select(replica_log.c.seq).where(
                replica_log.c.seq >= seq - MAX_HOLES, replica_log.c.seq <= seq
            )
        ).scalars()
    )
    if not present:
        return {}
    return {n: now for n in range(min(present) + 1, seq) if n not in present}


def _holes(local: Connection, now: datetime) -> dict[int, datetime]:
    """Log numbers skipped by earlier refreshes, with when each was first missed.

    Expired ones (older than HOLE_GRACE) are included: a station that was offline or off
    for longer asks for them one last time before forgetting them.
    """
    raw = _meta(local, HOLES_KEY)
    return {int(k): datetime.fromisoformat(v) for k, v in json.loads(raw or "{}").items()}


def _holes_json(holes: dict[int, datetime]) -> str:
    return json.dumps({str(seq): at.isoformat() for seq, at in sorted(holes.items())})


def _aged_out(local: Connection) -> dict[str, set[Any]]:
    """Local users to re-check each time: their sign-in window moves without a log entry.

    Orders leaving the window are re-checked too (every local order: few per patient).
    """
    return {
        "users": set(local.execute(select(users.c.id)).scalars()),
        "orders": set(local.execute(select(orders.c.id)).scalars()),
    }


def replica_refreshed_at(store: StationStore) -> datetime | None:
    """When the replica last caught up with the server (local only; None: never)."""
    with store.engine.connect() as conn:
        value = _meta(conn, REFRESHED_KEY)
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def pull_rows(
    server: UnitOfWorkFactory, store: StationStore, rows: Mapping[str, Collection[int | str]]
) -> int:
    """Re-fetch the named rows (table -> keys) from the server, whatever their scope.

    Rows the server no longer has are deleted locally; returns the rows written. For rows
    changed locally while offline, once replay has sent them.
    """
    unknown = set(rows) - set(KEYS)
    if unknown:
        raise ValueError(f"not replicated tables: {sorted(unknown)}")
    with server.engine.connect() as remote, _local(store) as local:
        return apply_changes(remote, local, {k: set(v) for k, v in rows.items()}, None)


KEPT_AFTER_REPLAY = frozenset({"alembic_version", "counters", "replica_log"})
"""Tables the station file keeps after a replay (its schema, its local counters, the log)."""


def settle_after_replay(server: UnitOfWorkFactory, store: StationStore) -> int:
    """Forget what offline work wrote in the station file, and take the server's rows.

    Call it once the outbox has nothing pending: the server now has that work (or keeps it
    as a conflict), under its own ids. The rows offline work wrote are known from the
    station file's own change log; they are deleted and the server's rows of the same keys
    fetched again (a tube collected offline comes back as the server's). Tables the replica
    never copies (custody events, audit entries, print jobs, alarms) only held offline work
    and are emptied. Returns the rows written from the server.
    """
    with server.engine.connect() as remote, _local(store) as local:
        logged = local.execute(select(replica_log.c.table_name, replica_log.c.row_id)).all()
        raw: dict[str, set[str]] = {}
        for name, row_id in logged:
            if name in KEYS:
                raw.setdefault(name, set()).add(row_id)
        changed = {name: typed_keys(name, ids) for name, ids in raw.items()}
        for name in reversed(ORDER):
            keys = changed.get(name)
            if keys:
                tbl = table(name)
                column = tbl.c[KEYS[name]]
                for chunk in _chunked(sorted(keys, key=str)):
                    local.execute(delete(tbl).where(column.in_(chunk)))
        for tbl in reversed(metadata.sorted_tables):
            if tbl.name not in KEYS and tbl.name not in KEPT_AFTER_REPLAY:
                local.execute(delete(tbl))
        local.execute(delete(replica_log))
        return apply_changes(remote, local, changed, None) if changed else 0


def _chunked(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
