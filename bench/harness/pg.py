"""PostgreSQL benchmark databases: cached worlds per size, a private copy per run, bare floors.

``labdesk bench --database-url URL`` names a PostgreSQL server and a database on it (say
``.../labdesk_bench``). The world of each size is built by :func:`bench.data.pg_copy.build`
into a sibling database ``<name>_w<size>`` and kept: its ``COMMENT`` records the schema
revision, the loader version, the seed and what was built, so a later run reuses it (a
million specimens take minutes to load) and any change rebuilds it. Scenarios write
(counters, audit entries, messages), so each run measures a private copy,
``CREATE DATABASE <name>_r<size> TEMPLATE <name>_w<size>``, dropped afterwards: the cached
world stays as built, as the SQLite cache does. Creating databases needs the CREATEDB
privilege (the bench role on the bench server is a superuser for the loader's
``session_replication_role``).

Floors run on :class:`PgRaw`, a bare autocommit psycopg connection (connected through the
app's engine, so a password from PGPASSFILE or ``~/.pgpass`` works), taking the scenarios'
SQL as written for ``sqlite3``: ``?`` placeholders become ``%s`` and ``BEGIN IMMEDIATE``
becomes ``BEGIN``; the statements are otherwise the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url

from bench.data import pg_copy
from bench.data.datagen import BenchDb, _domain_fingerprint
from bench.harness.errors import BenchError
from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory

Progress = Callable[[str], None]

_PLACEHOLDER = re.compile(r"\?")


class PgRaw:
    """A bare autocommit psycopg connection taking ``sqlite3``-style SQL (see the module)."""

    def __init__(self, engine: Engine) -> None:
        self._pooled = engine.raw_connection()
        conn = self._pooled.driver_connection
        if not isinstance(conn, psycopg.Connection):
            raise BenchError("PostgreSQL floors need the psycopg driver.")
        conn.autocommit = True
        conn.execute("SET TIME ZONE 'UTC'")
        self.conn: psycopg.Connection[Any] = conn

    @staticmethod
    def translate(sql: str) -> str:
        """``sqlite3`` SQL with parameters as psycopg takes it (placeholders)."""
        return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """Run one statement; the cursor has ``fetchone``/``fetchall`` like ``sqlite3``'s."""
        if sql.strip().upper() == "BEGIN IMMEDIATE":
            sql = "BEGIN"
        if not params:
            return self.conn.execute(sql)
        return self.conn.execute(self.translate(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement per row."""
        with self.conn.cursor() as cur:
            cur.executemany(self.translate(sql), rows)  # type: ignore[arg-type,unused-ignore]

    def close(self) -> None:
        """Give the connection back (closed)."""
        self._pooled.close()


@dataclass(frozen=True)
class Server:
    """The server and database ``--database-url`` named."""

    url: URL

    @classmethod
    def parse(cls, url: str) -> Server:
        """Check the URL names a PostgreSQL database.

        Raises:
            BenchError: for another kind of URL.
        """
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql" or not parsed.database:
            raise BenchError(
                "--database-url must name a PostgreSQL database.",
                hint="e.g. postgresql+psycopg://labdesk@127.0.0.1:5432/labdesk_bench "
                "(the password can come from ~/.pgpass)",
            )
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return cls(parsed)

    @property
    def shown(self) -> str:
        """The URL without its password."""
        return self.url.render_as_string(hide_password=True)

    def sibling(self, name: str) -> str:
        """URL of database ``name`` on the same server (password kept, never print it)."""
        return self.url.set(database=name).render_as_string(hide_password=False)

    def world_name(self, size: int) -> str:
        """The cached world of ``size`` specimens."""
        return f"{self.url.database}_w{size}"

    def run_name(self, size: int) -> str:
        """This run's private copy of that world."""
        return f"{self.url.database}_r{size}"

    def admin(self) -> Engine:
        """An autocommit engine on the named database (to create and drop the others)."""
        return make_engine(self.url.render_as_string(hide_password=False)).execution_options(
            isolation_level="AUTOCOMMIT"
        )

    def version(self) -> str:
        """The server's version, e.g. ``15.4``."""
        engine = self.admin()
        try:
            with engine.connect() as conn:
                return str(conn.scalar(text("SHOW server_version")) or "").split(" ")[0]
        finally:
            engine.dispose()


def fingerprint(size: int, seed: int) -> str:
    """What a cached world must match to be reused."""
    return (
        f"labdesk-bench s{size} seed{seed} rev{migrate.head_revision()} "
        f"v{pg_copy.PG_COPY_VERSION} {_domain_fingerprint()}"
    )


def cached_world(
    server: Server, size: int, seed: int, progress: Progress
) -> tuple[pg_copy.PgWorld, bool]:
    """The world of ``size`` specimens, built into ``<name>_w<size>`` unless already there.

    Returns:
        The world, and whether it was reused.
    """
    name = server.world_name(size)
    wanted = fingerprint(size, seed)
    admin = server.admin()
    try:
        with admin.connect() as conn:
            comment = conn.scalar(
                text(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                    "WHERE datname = :name"
                ),
                {"name": name},
            )
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
        if exists and comment:
            record = json.loads(comment)
            if record.get("fingerprint") == wanted:
                return pg_copy.PgWorld.from_json(server.sibling(name), record["world"]), True
        progress(f"Building {name}: {size:,} specimens (COPY)")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        world = pg_copy.build(server.sibling(name), size, seed=seed, progress=progress)
        record_text = json.dumps({"fingerprint": wanted, "world": world.to_json()})
        with admin.connect() as conn:
            conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{_quote(record_text)}'"))
        return world, False
    finally:
        admin.dispose()


def _quote(value: str) -> str:
    return value.replace("'", "''")


def private_copy(server: Server, world: pg_copy.PgWorld, size: int) -> str:
    """Copy the world into ``<name>_r<size>`` for this run; returns its URL."""
    name = server.run_name(size)
    admin = server.admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{server.world_name(size)}"'))
    finally:
        admin.dispose()
    return server.sibling(name)


def drop(server: Server, url: str) -> None:
    """Drop a run's private copy."""
    name = make_url(url).database
    admin = server.admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def bench_db(world: pg_copy.PgWorld, url: str, cached: bool) -> BenchDb:
    """The harness's record of a world (at its private copy's ``url``)."""
    return BenchDb(
        url=url,
        specimens=world.specimens,
        patients=world.patients,
        seed=world.seed,
        build_seconds=world.build_seconds,
        cached=cached,
    )


def open_engine(url: str) -> tuple[Engine, UnitOfWorkFactory, PgRaw]:
    """The app's storage stack and a bare floor connection on a PostgreSQL database."""
    engine = make_engine(url)
    return engine, UnitOfWorkFactory(engine), PgRaw(engine)
