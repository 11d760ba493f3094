"""Pruning the server's ``replica_log``: entries older than a keep window are deleted.

The triggers of :mod:`labdesk.adapters.replica.triggers` append a row for every write to a
replicated table and nothing else removes them, so the log grows with all the clinic's work.
A station only needs the entries after its own position (``station_meta.replica_seq``); a
station whose position was pruned past notices (the log's oldest seq is above its position
+ 1) and copies its scope again (:func:`labdesk.replica.refresh.refresh_replica`), which is
correct, only slower. The keep window is therefore a cost trade-off, not a safety limit,
with two floors:

- far longer than :data:`~labdesk.replica.refresh.HOLE_GRACE` (10 minutes), so an entry
  that commits late is still there when stations ask for it again;
- longer than a station is plausibly left switched off or offline (a holiday closure), so a
  station coming back catches up incrementally. 30 days (:data:`DEFAULT_KEEP`) also matches
  the replica's longest scope window (``ReplicaScope.user_days``).

Two rules keep the refresh's "pruned past me?" test exact:

- Only a *prefix* of the log goes: every entry below the oldest one still inside the window
  (PostgreSQL stamps ``changed_at`` at transaction start, so stamps are not quite in seq
  order; an old-stamped entry above a new one is kept, never the other way round).
- The newest entry is always kept, so the log is never empty once written: an empty log
  would hide how far it was pruned (seqs are never reused: SQLite AUTOINCREMENT, a
  PostgreSQL sequence).

Deletes run in batches of at most :data:`BATCH` rows, each its own transaction, so writers
(whose triggers append to the same table) never wait long behind the prune.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, inspect, select
from sqlalchemy.exc import DBAPIError

from labdesk.adapters.database import translate_error
from labdesk.adapters.orm.replica import replica_log
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import Clock
from labdesk.domain.errors import ValidationError
from labdesk.replica.refresh import HOLE_GRACE

DEFAULT_KEEP = timedelta(days=30)
"""How long log entries are kept (see the module docstring for why 30 days)."""
BATCH = 10_000
"""At most this many entries are deleted per transaction."""


@dataclass(frozen=True)
class PruneReport:
    """What one prune did."""

    removed: int
    """Log entries deleted."""
    cutoff: datetime
    """Entries changed before this were eligible."""
    oldest_kept: int | None
    """The oldest seq left in the log (None: the log is empty, it was never written)."""
    seconds: float


def prune_replica_log(
    server: UnitOfWorkFactory,
    clock: Clock,
    keep: timedelta = DEFAULT_KEEP,
    *,
    batch: int = BATCH,
) -> PruneReport:
    """Delete the server's log entries older than ``keep`` (see the module docstring).

    Raises:
        ValueError: ``keep`` is not longer than the refresh's hole grace, or ``batch`` < 1.
        ValidationError: the database is a station file, not the server.
        StorageError: the database cannot be used (batches already committed stay deleted).
    """
    if keep <= HOLE_GRACE:
        raise ValueError(f"keep window {keep} must be longer than the hole grace {HOLE_GRACE}")
    if batch < 1:
        raise ValueError("batch must be at least 1")
    started = time.perf_counter()
    cutoff = (clock.now() - keep).astimezone(UTC)
    engine = server.engine
    try:
        with engine.connect() as conn:
            _refuse_station_file(conn)
            below = _prune_below(conn, cutoff)
        removed = 0 if below is None else _delete_below(engine, below, batch)
        with engine.connect() as conn:
            oldest = conn.execute(select(func.min(replica_log.c.seq))).scalar()
    except DBAPIError as exc:
        raise translate_error(exc, engine.url) from exc
    return PruneReport(
        removed, cutoff, None if oldest is None else int(oldest), time.perf_counter() - started
    )


def _delete_below(engine: Engine, below: int, batch: int) -> int:
    """Delete every entry below seq ``below``, oldest first, ``batch`` per transaction."""
    removed = 0
    doomed = select(replica_log.c.seq).where(replica_log.c.seq < below)
    while True:
        with engine.begin() as conn:
            chunk = doomed.order_by(replica_log.c.seq).limit(batch)
            done = conn.execute(delete(replica_log).where(replica_log.c.seq.in_(chunk)))
        removed += done.rowcount
        if done.rowcount < batch:
            return removed


def _prune_below(conn: Connection, cutoff: datetime) -> int | None:
    """The seq every entry below which may go (None: nothing to prune).

    The oldest entry still inside the window, or the newest entry when all are older: both
    are kept.
    """
    newest = conn.execute(select(func.max(replica_log.c.seq))).scalar()
    if newest is None:
        return None
    inside = conn.execute(
        select(func.min(replica_log.c.seq)).where(replica_log.c.changed_at >= cutoff)
    ).scalar()
    return int(newest if inside is None else min(inside, newest))


def _refuse_station_file(conn: Connection) -> None:
    """A station file's own log names the offline work not yet settled: never prune it."""
    if inspect(conn).has_table("station_meta"):
        raise ValidationError(
            "This database is a station file, not the clinic's server: its change log is "
            "kept until the station's offline work has been sent.",
            hint="Run 'labdesk replica prune' against the server database "
            "(--database-url, or LABDESK_DATABASE_URL).",
        )
