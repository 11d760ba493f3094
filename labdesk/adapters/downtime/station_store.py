"""The station file: an owner-only SQLite file holding the replica, the outbox and the blocks.

The file carries the whole LabDesk schema (the same Alembic migrations as any database), so
the replica's rows and the offline work done on them use the same repositories and handlers
as the server; the station's own tables (``station_meta``, ``station_outbox``,
``station_blocks``) sit beside them, outside the migrations. One Session on the file covers
all of them: an offline action's local effect and its outbox entry commit together. The
replica is a cache of the server, not a record: its append-only guards are dropped (the
server's chains are the record, and replay makes the offline rows there).

The file is checked read-only before it is opened for writing: a damaged file, one from
another LabDesk version or another station is refused with :class:`OutboxUnreadable` and
left byte for byte as it was (opening it normally would already switch its journal mode).

Each unit of work is one SQLAlchemy Session. :class:`OutboxTable` and :class:`BlockTable`
work on any Session bound to this file, so a later unit of work over the same file (the
replica's) can append to the outbox in its own transaction.

Commits are ``synchronous=FULL``: an offline action the assistant saw saved must survive a
power cut, not only a crash of the program.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    Result,
    String,
    Table,
    Text,
    bindparam,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from labdesk.adapters import migrate
from labdesk.adapters.append_only import SQLITE_TRIGGERS
from labdesk.adapters.database import is_database_error, make_engine, translate_error
from labdesk.adapters.types import UTCDateTime
from labdesk.config import sqlite_url
from labdesk.downtime.blocks import AccessionBlock
from labdesk.downtime.errors import OutboxUnreadable
from labdesk.downtime.outbox import NewEntry, OutboxEntry, OutboxState

STORE_VERSION = 3
"""Layout of the station file; a file of another version is refused, never guessed at.

Version 1 held only the outbox and blocks (``store_meta``, ``outbox``,
``accession_blocks``); version 2 adds the LabDesk schema for the replica and prefixes the
station's own tables (the server schema has an ``accession_blocks`` table of its own);
version 3 adds ``station_outbox.pins_json`` (the accession serials each entry took),
``station_outbox.local_ids_json`` (the ids it created locally) and ``station_id_map``."""

local_metadata = MetaData()

store_meta = Table(
    "station_meta",
    local_metadata,
    Column("key", String(32), primary_key=True),
    Column("value", String(200), nullable=False),
)

outbox = Table(
    "station_outbox",
    local_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("command_type", String(80), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("actor_id", Integer),
    Column("happened_at", UTCDateTime(), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("synced_at", UTCDateTime()),
    Column("state", String(16), nullable=False),
    Column("server_reason", Text),
    Column("pins_json", Text, nullable=False, server_default="[]"),
    Column("local_ids_json", Text, nullable=False, server_default="[]"),
    Index("ix_station_outbox_state_seq", "state", "seq"),
    sqlite_autoincrement=True,  # a seq is never reused, even after the last row is gone
)

local_blocks = Table(
    "station_blocks",
    local_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # the server's block id
    Column("station", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("first", Integer, nullable=False),
    Column("last", Integer, nullable=False),
    Column("issued_up_to", Integer, nullable=False),
    Column("reserved_at", UTCDateTime(), nullable=False),
)


id_map = Table(
    "station_id_map",
    local_metadata,
    Column("kind", String(32), primary_key=True),
    Column("local_id", Integer, primary_key=True, autoincrement=False),
    Column("server_id", Integer, nullable=False),
)
"""Ids created offline and the server's ids for the same rows (filled by replay)."""


class IdMapTable:
    """The local-to-server id map on one Session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, kind: str, local_id: int, server_id: int) -> None:
        """Record that local ``kind`` ``local_id`` is ``server_id`` on the server."""
        stmt = sqlite_insert(id_map).values(kind=kind, local_id=local_id, server_id=server_id)
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[id_map.c.kind, id_map.c.local_id], set_={"server_id": server_id}
            )
        )

    def all(self) -> dict[tuple[str, int], int]:
        """Every mapping, ``(kind, local_id) -> server_id``."""
        rows = self.session.execute(select(id_map))
        return {(r.kind, r.local_id): r.server_id for r in rows}


_APPEND = insert(outbox).returning(outbox.c.seq)
_MARK_SYNCED = (
    update(outbox)
    .where(outbox.c.seq == bindparam("b_seq"))
    .values(state=OutboxState.SYNCED.value, synced_at=bindparam("b_synced_at"))
)
"""The two statements every offline action and every replayed entry run, built once:
building one per call took longer than running it."""


class OutboxTable:
    """The outbox on one Session (see :class:`labdesk.downtime.ports.OutboxRepository`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, entry: NewEntry) -> int:
        """Add ``entry`` in the open transaction; returns its ``seq``."""
        values = {
            "key": entry.key,
            "command_type": entry.command_type,
            "payload_json": entry.payload_json,
            "actor_id": entry.actor_id,
            "happened_at": entry.happened_at,
            "schema_version": entry.schema_version,
            "state": OutboxState.PENDING.value,
            "pins_json": json.dumps([list(pin) for pin in entry.pins]),
            "local_ids_json": json.dumps([list(pair) for pair in entry.local_ids]),
        }
        return int(self.session.execute(_APPEND, values).scalar_one())

    def set_ids(
        self, seq: int, pins: tuple[tuple[str, int], ...], local_ids: tuple[tuple[str, int], ...]
    ) -> None:
        """Replace entry ``seq``'s pins and local ids (known only when its handler returns)."""
        self._set(
            seq,
            pins_json=json.dumps([list(pin) for pin in pins]),
            local_ids_json=json.dumps([list(pair) for pair in local_ids]),
        )

    def pending(self) -> list[OutboxEntry]:
        """Entries not yet sent, in ``seq`` order."""
        return self._in_state(OutboxState.PENDING)

    def conflicts(self) -> list[OutboxEntry]:
        """Entries the server refused, in ``seq`` order."""
        return self._in_state(OutboxState.CONFLICT)

    def all(self) -> list[OutboxEntry]:
        """Every entry, in ``seq`` order."""
        rows = self.session.execute(select(outbox).order_by(outbox.c.seq))
        return [_entry(row._mapping) for row in rows]

    def mark_synced(self, seq: int, synced_at: datetime) -> None:
        """Record that the server has entry ``seq``."""
        done = self.session.execute(_MARK_SYNCED, {"b_seq": seq, "b_synced_at": synced_at})
        _one_row(done, seq)

    def mark_conflict(self, seq: int, reason: str, at: datetime) -> None:
        """Record that the server refused entry ``seq`` (``at``: when it answered)."""
        self._set(seq, state=OutboxState.CONFLICT.value, synced_at=at, server_reason=reason)

    def counts(self) -> dict[OutboxState, int]:
        """How many entries are in each state."""
        rows = self.session.execute(
            select(outbox.c.state, func.count()).group_by(outbox.c.state)
        ).all()
        found = {OutboxState(state): int(n) for state, n in rows}
        return {state: found.get(state, 0) for state in OutboxState}

    def last_synced_at(self) -> datetime | None:
        """When the last entry was synced, None if never."""
        found: datetime | None = self.session.execute(
            select(func.max(outbox.c.synced_at)).where(outbox.c.state == OutboxState.SYNCED.value)
        ).scalar_one()
        return found

    def _in_state(self, state: OutboxState) -> list[OutboxEntry]:
        rows = self.session.execute(
            select(outbox).where(outbox.c.state == state.value).order_by(outbox.c.seq)
        )
        return [_entry(row._mapping) for row in rows]

    def _set(self, seq: int, **values: Any) -> None:
        done = self.session.execute(update(outbox).where(outbox.c.seq == seq).values(**values))
        _one_row(done, seq)


def _one_row(done: Result[Any], seq: int) -> None:
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise LookupError(f"no outbox entry {seq}")


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        seq=row["seq"],
        key=row["key"],
        command_type=row["command_type"],
        payload_json=row["payload_json"],
        actor_id=row["actor_id"],
        happened_at=row["happened_at"],
        schema_version=row["schema_version"],
        state=OutboxState(row["state"]),
        synced_at=row["synced_at"],
        server_reason=row["server_reason"],
        pins=_pairs(row["pins_json"]),
        local_ids=_pairs(row["local_ids_json"]),
    )


def _pairs(raw: str) -> tuple[tuple[str, int], ...]:
    return tuple((str(name), int(value)) for name, value in json.loads(raw))


class BlockTable:
    """The station's blocks on one Session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> list[AccessionBlock]:
        """Every block, oldest first."""
        rows = self.session.execute(
            select(local_blocks).order_by(local_blocks.c.year, local_blocks.c.first)
        )
        return [AccessionBlock(**row._mapping) for row in rows]

    def put(self, block: AccessionBlock) -> None:
        """Add or replace a block (by its server id)."""
        values = {
            "id": block.id,
            "station": block.station,
            "year": block.year,
            "first": block.first,
            "last": block.last,
            "issued_up_to": block.issued_up_to,
            "reserved_at": block.reserved_at,
        }
        stmt = sqlite_insert(local_blocks).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[local_blocks.c.id], set_={"issued_up_to": block.issued_up_to}
        )
        self.session.execute(stmt)


class StationUnitOfWork:
    """One transaction on the station file; rolls back unless committed."""

    outbox: OutboxTable
    blocks: BlockTable
    ids: IdMapTable

    def __init__(self, factory: sessionmaker[Session], engine: Engine) -> None:
        self._factory = factory
        self._engine = engine
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The open Session (only inside ``with``), for other tables of the same file."""
        if self._session is None:
            raise RuntimeError("station unit of work used outside its 'with' block")
        return self._session

    def __enter__(self) -> StationUnitOfWork:
        if self._session is not None:
            raise RuntimeError("unit of work is not re-entrant; create another one")
        self._session = self._factory()
        self.outbox = OutboxTable(self._session)
        self.blocks = BlockTable(self._session)
        self.ids = IdMapTable(self._session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            session.rollback()
        finally:
            session.close()
            self._session = None
        if exc is not None and is_database_error(exc):  # a full disk, a locked file
            raise translate_error(exc, self._engine.url) from exc

    def commit(self) -> None:
        """Make the transaction permanent."""
        self.session.commit()


class StationStore:
    """The station file (:class:`labdesk.downtime.ports.LocalStore`)."""

    def __init__(self, path: Path, station: str, engine: Engine) -> None:
        self._path = path
        self._station = station
        self.engine = engine
        self._factory = sessionmaker(bind=engine, expire_on_commit=False)

    @property
    def path(self) -> Path:
        """The file."""
        return self._path

    @property
    def station(self) -> str:
        """The station code the file belongs to."""
        return self._station

    def __call__(self) -> StationUnitOfWork:
        """A fresh unit of work."""
        return StationUnitOfWork(self._factory, self.engine)

    def close(self) -> None:
        """Release the file."""
        self.engine.dispose()


def open_station_store(path: Path, station: str) -> StationStore:
    """Open (or create, owner-only) the station file at ``path`` for ``station``.

    Raises:
        OutboxUnreadable: the file is damaged, from another version or another station;
            it is left untouched.
        StorageError: the file cannot be created or opened.
    """
    existing = path.exists() and path.stat().st_size > 0
    if existing:
        _check_readable(path, station)
    engine = make_engine(sqlite_url(path))
    event.listen(engine, "connect", _full_sync)
    path.chmod(0o600)  # owner-only even if someone widened it: it holds patient work
    try:
        migrate.upgrade(engine)  # the replica follows this program's schema (it is a cache)
        with engine.begin() as conn:
            drop_chain_guards(conn)
    except BaseException:
        engine.dispose()
        raise
    if not existing:
        with engine.begin() as conn:
            local_metadata.create_all(conn)
            conn.execute(
                insert(store_meta),
                [
                    {"key": "version", "value": str(STORE_VERSION)},
                    {"key": "station", "value": station},
                ],
            )
    return StationStore(path, station, engine)


def drop_chain_guards(conn: Connection) -> None:
    """Drop the replica's append-only guards: local rows go once the server has them."""
    for names in SQLITE_TRIGGERS.values():
        for name in names:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))


def _meta_table(conn: sqlite3.Connection) -> str:
    """``station_meta``, or version 1's ``store_meta`` (refused below by its version)."""
    names = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name IN ('station_meta', 'store_meta')"
        )
    }
    return "store_meta" if "store_meta" in names and "station_meta" not in names else "station_meta"


def _full_sync(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA synchronous=FULL")


def _check_readable(path: Path, station: str) -> None:
    """Refuse a file this version cannot replay, without writing to it."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise OutboxUnreadable(path, f"it cannot be opened ({exc}).") from exc
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise OutboxUnreadable(path, f"the file is damaged ({check[0] if check else '?'}).")
        meta = dict(conn.execute(f"SELECT key, value FROM {_meta_table(conn)}").fetchall())
    except sqlite3.DatabaseError as exc:
        raise OutboxUnreadable(
            path, f"it is not a LabDesk station file or it is damaged ({exc})."
        ) from exc
    finally:
        conn.close()
    if meta.get("version") != str(STORE_VERSION):
        raise OutboxUnreadable(
            path,
            f"it was written by another LabDesk version (station file format "
            f"{meta.get('version')!r}; this version uses {STORE_VERSION}).",
        )
    if meta.get("station") != station:
        raise OutboxUnreadable(
            path, f"it belongs to station {meta.get('station')!r}, not {station!r}."
        )
