"""The bench harness on tiny databases: data fidelity, reporting, JSON (no timing asserts)."""

from __future__ import annotations

import io
import json
import math
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, Table, func, select
from sqlalchemy.dialects import sqlite as sqlite_dialect

import bench
from bench.data import synthetic
from bench.data.datagen import (
    ACCESSION_COUNTER,
    BenchDb,
    build_database,
    cached_database,
)
from bench.harness.errors import BenchError
from bench.harness.model import Scenario
from bench.harness.report import to_records, write_json, write_table
from bench.harness.runner import Plan, execute
from bench.scenarios import by_name
from bench.ui import coldstart
from labdesk.adapters import orm
from labdesk.adapters.database import make_engine
from labdesk.adapters.types import UTCDateTime
from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork
from labdesk.config import sqlite_url
from labdesk.domain.accession import is_valid_accession, make_accession
from labdesk.domain.patient import Patient, Sex
from labdesk.station.patients import lookup_by_scan, lookup_patients

SPECIMENS = 2000
DB_SCENARIOS = by_name(
    [
        "accession-issue",
        "specimen-by-accession",
        "patient-by-mrn",
        "patient-scan-audited",
        "patient-by-name",
    ]
)
"""The issue's database scenarios (later, slower ones have their own tests)."""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> BenchDb:
    """A 2,000-specimen bench database, built once for the module."""
    path = tmp_path_factory.mktemp("bench") / "tiny.sqlite3"
    return build_database(sqlite_url(path), specimens=SPECIMENS, seed=3)


@pytest.fixture(scope="module")
def bench_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bench cache directory shared by the module (each size is built once)."""
    return tmp_path_factory.mktemp("bench-cache")


@pytest.fixture
def tiny_engine(tiny: BenchDb) -> Iterator[Engine]:
    """An engine on the tiny bench database."""
    engine = make_engine(tiny.url)
    yield engine
    engine.dispose()


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_build_loads_the_requested_volumes(tiny: BenchDb, tiny_engine: Engine) -> None:
    assert (tiny.specimens, tiny.patients) == (SPECIMENS, SPECIMENS // 5)
    assert _count(tiny_engine, orm.specimens) == SPECIMENS
    assert _count(tiny_engine, orm.patients) == SPECIMENS // 5
    assert _count(tiny_engine, orm.patient_identifiers) == SPECIMENS // 5
    assert _count(tiny_engine, orm.orders) == SPECIMENS // 10
    assert _count(tiny_engine, orm.test_definitions) > 0
    with tiny_engine.connect() as conn:
        counter = conn.scalar(
            select(orm.counters.c.value).where(orm.counters.c.name == ACCESSION_COUNTER)
        )
        accessions = conn.scalars(select(orm.specimens.c.accession)).all()
    assert counter == SPECIMENS
    assert all(is_valid_accession(a) for a in accessions)


def test_built_file_is_consistent_and_back_in_wal(tiny: BenchDb) -> None:
    path = tiny.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    raw.close()


def test_bulk_rows_read_back_through_the_orm(tiny_engine: Engine) -> None:
    with SqlAlchemyUnitOfWork(tiny_engine) as uow:
        specimen = uow.specimens.by_accession(make_accession(2026, 1234))
        assert specimen is not None
        assert specimen.collected_at.tzinfo is UTC
        assert specimen.created_at > specimen.collected_at
        assert specimen.status_changed_at is not None
        by_band = lookup_by_scan(uow, synthetic.wristband_for(7))
        by_mrn = lookup_by_scan(uow, synthetic.mrn_for(7))
        assert by_band.id == by_mrn.id == 7
        prefix = by_mrn.family_name[:3]
        assert any(p.id == 7 for p in lookup_patients(uow, prefix, limit=500))


def test_stored_datetimes_match_what_sqlalchemy_writes(tiny_engine: Engine) -> None:
    dialect = sqlite_dialect.dialect()
    write = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert write is not None
    with tiny_engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT collected_at, specimens.created_at, birth_date FROM specimens"
            " JOIN patients ON patients.id = specimens.patient_id WHERE specimens.id = 99"
        ).one()
    with SqlAlchemyUnitOfWork(tiny_engine) as uow:
        specimen = uow.specimens.get(99)
        assert specimen is not None
        patient = uow.patients.get(specimen.patient_id)
        assert patient is not None
        assert (write(specimen.collected_at), write(specimen.created_at)) == tuple(stored[:2])
        assert patient.birth_date.isoformat() == stored[2]


def test_new_rows_follow_the_bulk_ids(tiny: BenchDb, tiny_engine: Engine) -> None:
    with SqlAlchemyUnitOfWork(tiny_engine) as uow:  # rolled back on leaving
        patient = Patient(
            mrn="X1",
            family_name="Newrow",
            given_name="Ada",
            birth_date=date(1990, 1, 2),
            sex=Sex.FEMALE,
            created_at=datetime(2026, 6, 1, tzinfo=UTC),
        )
        uow.patients.add(patient)
        uow.patients.flush()
        assert patient.id == tiny.patients + 1


def test_build_refuses_a_database_that_holds_data(tiny: BenchDb) -> None:
    with pytest.raises(BenchError, match="only build into an empty database"):
        build_database(tiny.url, specimens=10)


def test_cached_database_is_built_once_and_replaces_outdated_ones(tmp_path: Path) -> None:
    outdated = tmp_path / "bench-s300-p60-seed1-rev0000-v0.sqlite3"
    other_size = tmp_path / "bench-s3000-p600-seed1-rev0000-v0.sqlite3"
    outdated.write_bytes(b"")
    other_size.write_bytes(b"")

    first = cached_database(specimens=300, directory=tmp_path)
    again = cached_database(specimens=300, directory=tmp_path)

    assert (first.cached, again.cached) == (False, True)
    assert first.url == again.url
    assert not outdated.exists()
    assert other_size.exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_every_database_scenario_is_reported_with_numbers(bench_cache: Path) -> None:
    plan = Plan(sizes=(300, 1000), iterations=5, warmup=1, process_runs=1, cache_dir=bench_cache)
    messages: list[str] = []
    results = execute(plan, DB_SCENARIOS, progress=messages.append)

    assert results.errors == []
    assert messages
    out = io.StringIO()
    write_json(results, out)
    records = json.loads(out.getvalue())
    assert records == to_records(results)
    latency = [r for r in records if r["kind"] == "latency"]
    assert {(r["scenario"], r["size"]) for r in latency} == {
        (s.name, size) for s in DB_SCENARIOS for size in plan.sizes
    }
    for record in latency:
        for key in ("p50_ms", "p95_ms", "cpu_p95_ms", "floor_p95_ms", "ratio"):
            assert isinstance(record[key], float), (record["scenario"], key)
            assert math.isfinite(record[key])
        assert record["status"] in {"PASS", "MISS", ""}
    growth = [r for r in records if r["kind"] == "growth"]
    assert {r["scenario"] for r in growth} == {s.name for s in DB_SCENARIOS}
    assert [r["kind"] for r in records].count("build") == 2

    table = io.StringIO()
    write_table(results, table)
    for scenario in DB_SCENARIOS:
        assert scenario.name in table.getvalue()
    for size in plan.sizes:  # the scenarios wrote to private copies, not to the cache
        cached = cached_database(specimens=size, directory=bench_cache)
        with sqlite3.connect(cached.url.removeprefix("sqlite:///")) as raw:
            assert raw.execute("SELECT value FROM counters").fetchall() == [(size,)]
        raw.close()


def _boom(_state: object, _i: int) -> object:
    raise RuntimeError("scenario exploded")


def test_a_failing_scenario_is_reported_not_raised(bench_cache: Path) -> None:
    broken: Scenario[object] = Scenario(
        name="broken", title="Broken", setup=lambda ctx: ctx.db(), run_once=_boom, floor=_boom
    )
    plan = Plan(sizes=(300,), iterations=2, warmup=0, process_runs=1, cache_dir=bench_cache)
    results = execute(plan, [broken])

    assert results.errors == ["broken: RuntimeError: scenario exploded"]
    out = io.StringIO()
    write_json(results, out)
    (record,) = [r for r in json.loads(out.getvalue()) if r["kind"] == "latency"]
    assert record["status"] == "ERROR"
    assert record["p95_ms"] is None


def test_run_writes_json_and_exits_zero(bench_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny_plan = Plan(sizes=(300,), iterations=3, warmup=1, process_runs=1, cache_dir=bench_cache)
    monkeypatch.setattr(bench.Plan, "quick", classmethod(lambda cls: tiny_plan))
    monkeypatch.setattr(bench, "all_scenarios", lambda: DB_SCENARIOS)
    out = io.StringIO()

    code = bench.run(quick=True, as_json=True, out=out)

    assert code == 0
    assert {r["kind"] for r in json.loads(out.getvalue())} == {"machine", "build", "latency"}


def test_a_failing_process_is_reported_with_its_stderr(tmp_path: Path) -> None:
    state = coldstart.ColdStart(env={}, cwd=tmp_path)
    failing = (sys.executable, "-c", "import sys; sys.stderr.write('no window'); sys.exit(3)")
    with pytest.raises(BenchError, match="status 3: no window"):
        coldstart.spawn(state, failing, "Fake app")


def test_build_on_postgresql(pg_engine: Engine) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    built = build_database(url, specimens=500)

    assert _count(pg_engine, orm.specimens) == 500
    with SqlAlchemyUnitOfWork(pg_engine) as uow:
        specimen = uow.specimens.by_accession(make_accession(2026, 321))
        assert specimen is not None
        assert specimen.collected_at.tzinfo is UTC
        assert lookup_by_scan(uow, synthetic.wristband_for(3)).id == 3
        patient = Patient(
            mrn="X1",
            family_name="Newrow",
            given_name="Ada",
            birth_date=date(1990, 1, 2),
            sex=Sex.FEMALE,
            created_at=datetime(2026, 6, 1, tzinfo=UTC),
        )
        uow.patients.add(patient)
        uow.commit()
        assert patient.id == built.patients + 1
