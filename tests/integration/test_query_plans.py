"""The hot paths use their indexes on PostgreSQL as the planner really plans them (issue 14, 5).

The database is a bench world (:func:`bench.data.pg_copy.build`: 100k specimens, 20k
patients, ~14k board entries) plus 20k manifests with 100k items and 100k print jobs (all
but a few printed long ago), then ``VACUUM ANALYZE``d as autovacuum leaves a live database.
Each test runs the repository's own query with keys taken from that data, captures the SQL
it sends and asks PostgreSQL for its plan with the *default* planner settings: at these
sizes a query that cannot use an index is planned as a ``Seq Scan`` (the control test shows
it), so a plan without one on the big tables is the plan PostgreSQL would run. Sequential
scans are never priced out (``enable_seqscan = off`` would make any usable index look
chosen even where the planner, on real statistics, would not pick it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.engine import make_url

from bench.data import pg_copy
from labdesk.adapters.database import make_engine
from labdesk.adapters.orm import patients
from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkFactory
from labdesk.domain.board_criteria import Criteria

pytestmark = pytest.mark.postgres

SPECIMENS = 100_000
MANIFESTS = 20_000
ITEMS_PER_MANIFEST = 5
PRINT_JOBS = 100_000
QUEUED_EVERY = 2_000
"""One print job in this many is still queued (the rest were printed)."""
BIG_TABLES = {
    "specimens",
    "patients",
    "ordered_tests",
    "orders",
    "board_entries",
    "manifest_items",
    "manifests",
    "print_jobs",
    "custody_events",
}
INDEX_NODES = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)

_FILL = (
    "SET LOCAL session_replication_role = replica",  # bulk rows: no triggers, no NOTIFY
    "INSERT INTO manifests (number, site_id, courier_id, station_code, status, started_at,"
    " finished_at, received_at) SELECT 'M' || lpad(g::text, 10, '0'),"
    " (SELECT min(id) FROM sites), (SELECT min(id) FROM users), 'ST-' || (g % 50), 'received',"
    " now() - interval '30 days', now() - interval '30 days', now() - interval '29 days'"
    f" FROM generate_series(1, {MANIFESTS}) g",
    "INSERT INTO manifest_items (manifest_id, specimen_id, temperature_class, bag_id, expected,"
    " scanned_at, scanned_by_id) SELECT m.id, s.id, 'ambient', '', true, m.started_at,"
    f" m.courier_id FROM manifests m JOIN specimens s ON s.id % {MANIFESTS} = m.id % {MANIFESTS}"
    f" AND s.id <= {MANIFESTS * ITEMS_PER_MANIFEST}",
    "INSERT INTO print_jobs (kind, printer_uri, station_code, specimen_id, status, content_json,"
    " payload, attempts, last_error, created_at, sent_at, reprint_reason)"
    " SELECT 'label', 'tcp://label-printer-' || (g % 50), 'ST-' || lpad((g % 50)::text, 2,"
    f" '0'), g, CASE WHEN g % {QUEUED_EVERY} = 0 THEN 'queued' ELSE 'done' END, '', '\\x00',"
    f" 1, '', now() - interval '1 day', now() - interval '1 day', '' FROM generate_series(1,"
    f" {PRINT_JOBS}) g",
)


@dataclass(frozen=True)
class Keys:
    """Real keys of the loaded data for the hot paths to look up."""

    accession: str
    mrn: str
    family_prefix: str
    given_prefix: str
    manifest_number: str
    manifest_id: int
    station: str
    queued: tuple[int, ...]


@pytest.fixture(scope="module")
def big(pg_url: str) -> Iterator[tuple[Engine, Keys]]:
    """A database of realistic size next to the session's (dropped afterwards)."""
    base = make_url(pg_url)
    name = f"{base.database}_plans"
    admin = make_engine(pg_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        world = pg_copy.build(url, SPECIMENS, seed=7)
        with engine.begin() as conn:
            for statement in _FILL:
                conn.execute(text(statement))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            family, given = conn.execute(
                text("SELECT family_name, given_name FROM patients WHERE id = 777")
            ).one()
            manifest_id, number = conn.execute(
                text("SELECT id, number FROM manifests ORDER BY id OFFSET 4321 LIMIT 1")
            ).one()
            station, *_ = conn.execute(
                text("SELECT station_code FROM print_jobs WHERE status = 'queued' LIMIT 1")
            ).one()
            queued = conn.scalars(
                text("SELECT id FROM print_jobs WHERE status = 'queued' ORDER BY id LIMIT 3")
            ).all()
        keys = Keys(
            accession=world.accessions[0],
            mrn=world.mrns[0],
            family_prefix=family[:3].upper(),
            given_prefix=given[:2].upper(),
            manifest_number=number,
            manifest_id=manifest_id,
            station=station,
            queued=tuple(queued),
        )
        yield engine, keys
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _scans(plan: Any) -> Iterator[tuple[str, str]]:
    if isinstance(plan, dict):
        if "Node Type" in plan:
            yield plan["Node Type"], plan.get("Relation Name", "")
        for value in plan.values():
            yield from _scans(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from _scans(item)


def _plans(engine: Engine, query: Callable[[SqlAlchemyUnitOfWork], object]) -> list[Any]:
    """The default planner's plans of every statement ``query`` sends (nothing is kept)."""
    with _statements(engine) as seen, UnitOfWorkFactory(engine)() as uow:
        query(uow)  # not committed: a claim's UPDATE is rolled back
    assert seen, "the query sent no statement"
    plans = []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW enable_seqscan").scalar_one() == "on"
        for statement, parameters in seen:
            (plan,) = conn.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) {statement}", parameters
            ).scalar_one()
            plans.append(plan)
        conn.rollback()
    return plans


Query = Callable[[SqlAlchemyUnitOfWork], object]


def _hot_paths(k: Keys) -> dict[str, Query]:
    now_s = NOW.timestamp()
    return {
        "scan by accession": lambda uow: uow.specimens.by_accession(k.accession),
        "courier scan locks the specimen": lambda uow: uow.custody_scan.lock_by_accession(
            k.accession
        ),
        "patient by MRN": lambda uow: uow.patients.by_mrn(k.mrn),
        "patient by name prefix": lambda uow: uow.patients.search_name_prefix(k.family_prefix),
        "patient by family and given": lambda uow: uow.patients.search_family_then_given(
            k.family_prefix, k.given_prefix
        ),
        "board page": lambda uow: uow.board_table.page(Criteria(now_s=now_s), 0, 50),
        "board count": lambda uow: uow.board_table.count(Criteria(now_s=now_s)),
        "board clinicians": lambda uow: uow.board_table.clinicians(),
        "manifest by number": lambda uow: uow.manifests.by_number(k.manifest_number),
        "manifest items": lambda uow: uow.manifests.items_with_specimens(k.manifest_id),
        "print jobs due": lambda uow: uow.print_queue.due_ids(NOW, k.station, 20),
        "print jobs due, any station": lambda uow: uow.print_queue.due_ids(NOW, None, 20),
        "print job claim": lambda uow: uow.print_queue.claim_many(list(k.queued), NOW),
    }


HOT_PATHS = sorted(_hot_paths(Keys("", "", "", "", "", 0, "", ())))


@pytest.mark.parametrize("path", HOT_PATHS)
def test_hot_path_reads_an_index(big: tuple[Engine, Keys], path: str) -> None:
    engine, keys = big
    plans = _plans(engine, _hot_paths(keys)[path])
    nodes = [(node, relation) for plan in plans for node, relation in _scans(plan)]
    sequential = [r for node, r in nodes if node == "Seq Scan" and r in BIG_TABLES]
    assert sequential == [], f"{path} reads every row of {sequential}: {nodes}"
    assert any(node in INDEX_NODES for node, _ in nodes), f"{path} uses no index: {nodes}"


def test_the_tables_are_big_enough_for_a_sequential_scan_to_matter(
    big: tuple[Engine, Keys],
) -> None:
    engine, _ = big
    with engine.connect() as conn:
        sizes = {
            table: int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
            for table in ("specimens", "patients", "board_entries", "manifest_items",
                          "manifests", "print_jobs")
        }  # fmt: skip
    assert sizes["specimens"] == SPECIMENS
    assert sizes["board_entries"] >= 10_000
    assert sizes["manifests"] == MANIFESTS
    assert sizes["manifest_items"] == MANIFESTS * ITEMS_PER_MANIFEST
    assert sizes["print_jobs"] == PRINT_JOBS
    assert min(sizes.values()) >= 10_000, sizes


def test_the_check_sees_a_query_without_an_index(big: tuple[Engine, Keys]) -> None:
    engine, _ = big

    def unindexed(uow: SqlAlchemyUnitOfWork) -> object:  # given_name alone has no index
        return uow.session.execute(select(patients.c.id).where(patients.c.given_name == "X")).all()

    nodes = [n for plan in _plans(engine, unindexed) for n in _scans(plan)]
    assert ("Seq Scan", "patients") in nodes
