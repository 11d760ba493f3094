"""THE bulk loader of PostgreSQL benchmark databases: a synthetic clinic loaded with COPY.

:func:`build` creates the schema with the app's own migrations (``labdesk.adapters.migrate``)
in the given database, the reference data with the shared seed builder (sites, station,
user, catalog, as :mod:`bench.data.reference` does for SQLite), and then COPYs (psycopg's
``cursor.copy``) the bulk rows in one transaction:

* patients (one per five specimens) with wristband identifiers, specimens with unique
  accessions (check digit as :func:`labdesk.domain.accession.make_accession` computes it),
  one order per ten specimens with its tests (:mod:`bench.data.rows`, the same generator as
  the SQLite growth databases: four in five orders completed, one in five active with two
  tests to draw);
* open tests for the clinician board, one per ten specimens (100,000 at a million), with
  their orders, results and a few acknowledgements (:mod:`bench.data.open_tests`, the same
  generator as the SQLite board database), plus the ``benchdoc`` clinician;
* a courier route from the bench clinic to its lab;
* custody events, hash-chained as the product writes them, for the specimens still on
  their way (the newest one percent: collected, labelled and, as their status says,
  verified and packed or picked up), and the chain's writer counter. The other specimens
  are bulk-loaded *without* custody history, as in the SQLite growth databases (they were
  received before the chain was kept); ``labdesk custody verify`` walks the events there are
  and reports the chains intact.

The load runs with ``SET LOCAL session_replication_role = replica`` (the ``labdesk`` role is a
superuser on the bench server): row triggers do not fire, so neither the board's dirty
queue, the append-only guards nor change notifications see the bulk rows; the loader keeps
the data consistent itself (sequences set past the loaded ids, the board built afterwards).
After the commit the board is filled by the product's own :func:`refresh_board` (a full
rebuild: the board has no fingerprint yet) at :data:`BOARD_NOW`, then the database is
``VACUUM ANALYZE``d: a live database is in that state (since PostgreSQL 13 autovacuum also
vacuums tables after inserts), and without the visibility map the planner cannot price an
index-only scan (the board's count of open tests would read the whole table). A million
specimens take about two minutes on two cores (``progress`` says where).

Helper D's network bench builds its 10-million-specimen database with this function too.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine, text

from bench.data import open_tests, rows
from bench.data.datagen import ACCESSION_COUNTER, default_patients
from bench.data.reference import load_reference_data
from bench.harness.errors import BenchError
from labdesk.adapters import migrate, orm
from labdesk.adapters.database import make_engine
from labdesk.adapters.repositories.custody import canonical_row
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.accession import MAX_SERIAL, make_accession
from labdesk.domain.clock import FixedClock
from labdesk.domain.hashchain import GENESIS
from labdesk.domain.overdue import OverduePolicy
from labdesk.results.board_refresh import refresh_board
from labdesk.seed.names import mrn_for

Progress = Callable[[str], None]

PG_COPY_VERSION = 2
"""Bump when the loaded data changes, so cached PostgreSQL worlds are rebuilt."""
BOARD_NOW = open_tests.BOARD_NOW
"""The clock the board was built at (and the board scenarios read it at)."""
CHAIN_COUNTER = "custody-chain"
OPEN_TESTS_PER_SPECIMEN = 10
"""One open board test per ten specimens: 100,000 at a million."""
SAMPLE_KEYS = 20
_TABLES_WITH_IDS = (
    "users", "patients", "patient_identifiers", "specimens", "orders", "ordered_tests",
    "results", "acknowledgements", "custody_events", "routes",
)  # fmt: skip
_IN_FLIGHT_KINDS = {
    "labelled": ("collected", "labelled"),
    "packed": ("collected", "labelled", "verified", "packed"),
    "in_transit": ("collected", "labelled", "verified", "picked_up"),
}
_EVENT_COLUMNS = (
    "id", "specimen_id", "seq", "kind", "actor_id", "occurred_at", "recorded_at", "location",
    "temperature_class", "seal_intact", "container_ref", "reason", "note", "prev_hash", "hash",
    "chain_prev_hash", "chain_hash",
)  # fmt: skip


@dataclass(frozen=True)
class PgWorld:
    """What :func:`build` loaded (counts, and keys the scenarios can look up)."""

    url: str = field(repr=False)
    """The database's URL (with its password, if it had one: never print it)."""
    specimens: int
    patients: int
    orders: int
    ordered_tests: int
    open_tests: int
    """Open tests generated for the board (besides the base orders' tests to draw)."""
    results: int
    custody_events: int
    board_entries: int
    build_seconds: float
    seed: int
    mrns: tuple[str, ...] = ()
    """Some MRNs of loaded patients."""
    accessions: tuple[str, ...] = ()
    """Some accessions of loaded specimens."""
    board_now: str = BOARD_NOW.isoformat()
    """The instant the board was built at (ISO 8601)."""

    def to_json(self) -> dict[str, Any]:
        """Everything but the URL, for a cache record."""
        return {k: v for k, v in self.__dict__.items() if k != "url"}

    @classmethod
    def from_json(cls, url: str, data: dict[str, Any]) -> PgWorld:
        """The world recorded by :meth:`to_json`, at ``url``."""
        values = dict(data)
        values["mrns"] = tuple(values.get("mrns", ()))
        values["accessions"] = tuple(values.get("accessions", ()))
        return cls(url=url, **values)


def build(
    url: str,
    specimens: int,
    *,
    seed: int = 1,
    progress: Progress = lambda _m: None,
    reset: bool = False,
    patients: int | None = None,
) -> PgWorld:
    """Build a synthetic clinic of ``specimens`` specimens in the PostgreSQL database ``url``.

    Args:
        url: A ``postgresql+psycopg://`` URL of an existing database (the password may come
            from libpq's PGPASSFILE or ``~/.pgpass``).
        specimens: Specimens to load (patients: a fifth of that unless ``patients`` says).
        seed: Seed of the generators (same seed, same data).
        progress: Called with a line of text per step.
        reset: Drop and recreate the ``public`` schema first, even if it holds LabDesk data.

    Raises:
        BenchError: for sizes out of range, a database that is not PostgreSQL, or one that
            already holds LabDesk data (unless ``reset``).
        StorageError: if the database cannot be reached.
    """
    n_patients = patients if patients is not None else default_patients(specimens)
    if not 1 <= specimens <= MAX_SERIAL or n_patients < 1:
        raise BenchError(f"Cannot build {specimens} specimens for {n_patients} patients.")
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            raise BenchError("bench.data.pg_copy builds PostgreSQL databases only.")
        where = engine.url.render_as_string(hide_password=True)
        if reset:
            progress(f"Resetting {where}")
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            _refuse_labdesk_data(engine, where)
        progress("Creating the schema (migrations)")
        migrate.upgrade(engine)
        tests = load_reference_data(engine)
        codes = [t.code for t in tests]
        counts = _copy_rows(engine, tests, codes, specimens, n_patients, seed, progress)
        progress(f"Building the board at {BOARD_NOW.isoformat()} (product refresh)")
        with UnitOfWorkFactory(engine)() as uow:
            refresh_board(uow, FixedClock(BOARD_NOW), OverduePolicy())
        progress("VACUUM ANALYZE")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            board = int(conn.scalar(text("SELECT count(*) FROM board_entries")) or 0)
    finally:
        engine.dispose()
    rng = random.Random(seed + 99)
    return PgWorld(
        url=url,
        specimens=specimens,
        patients=n_patients,
        board_entries=board,
        build_seconds=time.perf_counter() - started,
        seed=seed,
        mrns=tuple(mrn_for(rng.randrange(n_patients) + 1) for _ in range(SAMPLE_KEYS)),
        accessions=tuple(
            make_accession(rows.ACCESSION_YEAR, rng.randrange(specimens) + 1)
            for _ in range(SAMPLE_KEYS)
        ),
        **counts,  # type: ignore[arg-type]
    )


def _refuse_labdesk_data(engine: Engine, where: str) -> None:
    with engine.connect() as conn:
        found = conn.scalar(
            text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
                "AND table_name IN ('alembic_version', 'patients', 'specimens')"
            )
        )
    if found:
        raise BenchError(
            f"{where} already holds LabDesk tables; the bench loader only builds into an "
            "empty database.",
            hint="Give the URL of a new, empty database, or pass reset=True to wipe it.",
        )


def _copy_rows(
    engine: Engine,
    tests: Sequence[rows.TestRef],
    codes: list[str],
    n_specimens: int,
    n_patients: int,
    seed: int,
    say: Progress,
) -> dict[str, int]:
    """COPY every bulk row in one transaction with row triggers off; return the counts."""
    rng = random.Random(seed)
    enc = rows.Encoder("postgresql")
    owner = [0] + [rng.randrange(n_patients) + 1 for _ in range(n_specimens)]
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, psycopg.Connection)
        with conn.cursor() as cur:
            # Superuser only: row triggers (board_dirty, append-only guards, notifications)
            # stay quiet for the bulk rows; this transaction keeps the data consistent.
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute("SET LOCAL TIME ZONE 'UTC'")
            cur.execute("SET LOCAL synchronous_commit = off")
            _copy(cur, "patients", rows.PATIENT_COLUMNS,
                  rows.patient_rows(rng, enc, n_patients), n_patients, say)  # fmt: skip
            _copy(cur, "patient_identifiers", rows.IDENTIFIER_COLUMNS,
                  rows.identifier_rows(n_patients), n_patients, say)  # fmt: skip
            statuses: dict[int, str] = {}
            _copy(cur, "specimens", rows.SPECIMEN_COLUMNS,
                  _noting_status(rows.specimen_rows(rng, enc, tests, owner), statuses,
                                 n_specimens),
                  n_specimens, say)  # fmt: skip
            orders, ordered = rows.order_rows(rng, enc, tests, owner, n_patients)
            _copy(cur, "orders", rows.ORDER_COLUMNS, orders, len(orders), say)
            _copy(cur, "ordered_tests", rows.ORDERED_TEST_COLUMNS, ordered, len(ordered), say)
            n_open = max(1, n_specimens // OPEN_TESTS_PER_SPECIMEN)
            board = open_tests.open_test_rows(
                random.Random(seed * 7 + 1), n_open, first_order=len(orders),
                first_test=len(ordered), first_result=0, specimens=n_specimens,
                patients=n_patients, codes=codes,
            )  # fmt: skip
            cur.execute(
                "INSERT INTO users (id, username, display_name, initials, role, password_hash, "
                "active, failed_attempts, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                "%s)",
                open_tests.doctor_row(),
            )
            _copy(cur, "orders", _names(open_tests.ORDER_COLUMNS), board.orders,
                  len(board.orders), say)  # fmt: skip
            _copy(cur, "ordered_tests", _names(open_tests.TEST_COLUMNS), board.tests,
                  len(board.tests), say)  # fmt: skip
            _copy(cur, "results", _names(open_tests.RESULT_COLUMNS), board.results,
                  len(board.results), say)  # fmt: skip
            _copy(cur, "acknowledgements", _names(open_tests.ACK_COLUMNS), board.acks,
                  len(board.acks), say)  # fmt: skip
            cur.execute(
                "INSERT INTO routes (code, name, from_site_id, to_site_id, transit_minutes, "
                "active) SELECT 'BENCH-LAB', 'Bench clinic to lab', a.id, b.id, 90, true "
                "FROM sites a, sites b WHERE a.code = 'BENCH' AND b.code = 'BENCHLAB'"
            )
            events = list(_custody_events(statuses, tests, n_specimens))
            _copy(cur, "custody_events", _EVENT_COLUMNS, events, len(events), say)
            cur.execute(
                "INSERT INTO counters (name, value) VALUES (%s, %s), (%s, %s)",
                (ACCESSION_COUNTER, n_specimens, CHAIN_COUNTER, len(events)),
            )
            for table in _TABLES_WITH_IDS:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                )
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    return {
        "orders": len(orders) + len(board.orders),
        "ordered_tests": len(ordered) + len(board.tests),
        "open_tests": len(board.tests),
        "results": len(board.results),
        "custody_events": len(events),
    }


def _names(columns: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in columns.split(","))


def _noting_status(
    source: Iterable[rows.Row], statuses: dict[int, str], count: int
) -> Iterator[rows.Row]:
    """Pass specimen rows through, remembering the status of the in-flight (newest) ones."""
    recent = count - max(1, count // 100)
    for row in source:
        serial = int(row[0])  # type: ignore[call-overload]
        if serial > recent:
            statuses[serial] = str(row[5])
        yield row


def _custody_events(
    statuses: dict[int, str], tests: Sequence[rows.TestRef], count: int
) -> Iterator[rows.Row]:
    """Both-chained events of the in-flight specimens, in id order (as the writer links)."""
    chain = GENESIS
    event_id = 0
    for serial in sorted(statuses):
        kinds = _IN_FLIGHT_KINDS.get(statuses[serial], ("collected", "labelled"))
        temperature = rows.test_of(serial, tests).temperature
        at = datetime.fromtimestamp(rows.collected_at(serial, count), UTC)
        previous = GENESIS
        for seq, kind in enumerate(kinds, start=1):
            event_id += 1
            when = at + timedelta(minutes=10 * (seq - 1))
            pickup = kind == "picked_up"
            row: list[object] = [
                event_id, serial, seq, kind, rows.USER_ID, when, when,
                "BENCH / BENCH-1", temperature, True if pickup else None, "", "", "",
            ]  # fmt: skip
            content = canonical_row(row, sqlite=False).encode()
            own = hashlib.sha256(previous.encode() + content).hexdigest()
            linked = hashlib.sha256(chain.encode() + content).hexdigest()
            yield (*row, previous, own, chain, linked)
            previous, chain = own, linked


def _copy(
    cur: psycopg.Cursor[Any],
    table: str,
    columns: Sequence[str],
    source: Iterable[rows.Row],
    total: int,
    say: Progress,
) -> None:
    known = set(orm.patients.metadata.tables[table].c.keys())
    unknown = set(columns) - known
    if unknown:
        raise BenchError(f"{table} has no column {sorted(unknown)}: update the generator.")
    done = 0
    step = max(100_000, total // 5)
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in source:
            copy.write_row(row)
            done += 1
            if done % step == 0:
                say(f"  {table}: {done:,} of {total:,}")
    say(f"  {table}: {done:,} rows")
