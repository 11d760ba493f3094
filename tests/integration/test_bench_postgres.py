"""``labdesk bench --database-url``: the PostgreSQL loader's world and a tiny bench run.

On ``LABDESK_TEST_PG_URL`` (never skipped with ``LABDESK_REQUIRE_PG=1``): the COPY loader's
world is consistent (unique accessions with valid check digits, both custody chains verify,
the board equals the overdue engine), refuses a database holding LabDesk data, and a run
at two tiny sizes reports every PostgreSQL scenario with a figure and a measured floor, the
growth table and the target lines.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bench import postgres
from bench.data import pg_copy
from bench.harness import pg
from bench.harness.errors import BenchError
from bench.harness.report import write_table
from bench.harness.runner import Plan, execute
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.cli import cli
from labdesk.custody.verify import verify_chains
from labdesk.domain import order
from labdesk.domain.accession import is_valid_accession
from labdesk.domain.overdue import OverduePolicy, from_posix, posix
from labdesk.domain.people import Role
from labdesk.kernel.dto import SignedInUser
from labdesk.results.board import matching_rows
from labdesk.results.board_query import ANY_FLAG, BoardQuery, matches
from labdesk.results.board_refresh import KEEP_CLOSED_DAYS
from labdesk.results.overdue import evaluate_rows

pytestmark = pytest.mark.postgres

SPECIMENS = 2_000


@pytest.fixture(scope="module")
def server(pg_url: str) -> Iterator[pg.Server]:
    """The session's PostgreSQL database as the bench's server; its worlds dropped after."""
    found = pg.Server.parse(pg_url)
    yield found
    admin = found.admin()
    with admin.connect() as conn:
        names = conn.scalars(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
            {"p": f"{found.url.database}\\_%"},
        ).all()
        for name in names:
            if name.rsplit("_", 1)[-1][:1] in {"w", "r"}:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def world(server: pg.Server) -> pg_copy.PgWorld:
    built, cached = pg.cached_world(server, SPECIMENS, 1, lambda _m: None)
    assert not cached
    return built


def test_the_world_is_consistent(world: pg_copy.PgWorld) -> None:
    engine = make_engine(world.url)
    try:
        with engine.connect() as conn:
            accessions = conn.scalars(text("SELECT accession FROM specimens")).all()
            assert len(accessions) == SPECIMENS == world.specimens
            assert len(set(accessions)) == SPECIMENS
            assert all(is_valid_accession(a) for a in accessions)
            assert set(world.accessions) <= set(accessions)
            mrns = set(conn.scalars(text("SELECT mrn FROM patients")).all())
            assert len(mrns) == world.patients
            assert set(world.mrns) <= mrns
            assert conn.scalar(text("SELECT count(*) FROM ordered_tests")) == world.ordered_tests
            open_tests = conn.scalar(
                text("SELECT count(*) FROM ordered_tests WHERE status <> 'acknowledged'")
            )
            assert open_tests >= world.open_tests == SPECIMENS // 10
            assert conn.scalar(text("SELECT count(*) FROM board_dirty")) == 0
        factory = UnitOfWorkFactory(engine)
        with factory() as uow:  # every loaded event is chained; the counter matches
            report = verify_chains(uow)
        assert report.ok, report.findings[:3]
        assert report.events == world.custody_events > 0
        now_s = posix(pg_copy.BOARD_NOW)
        since = from_posix(now_s) - timedelta(days=KEEP_CLOSED_DAYS)
        actor = SignedInUser(id=2, username="benchdoc", display_name="Dr. Ada Moreau",
                             role=Role.CLINICIAN, initials="BD")  # fmt: skip
        with factory() as uow:
            engine_rows = evaluate_rows(uow, OverduePolicy(), now_s, since)
            for query in (
                BoardQuery(),
                BoardQuery(flag=ANY_FLAG),
                BoardQuery(status=order.TestStatus.FINAL),
                BoardQuery(include_closed=True),
            ):
                board = matching_rows(uow, actor, query, now_s)
                oracle = [r for r in engine_rows if matches(query, r)]
                assert len(board) == len(oracle) > 0, query
                assert {r.ordered_test_id for r in board} == {r.ordered_test_id for r in oracle}
    finally:
        engine.dispose()


def test_the_loader_refuses_a_database_with_labdesk_data(world: pg_copy.PgWorld) -> None:
    with pytest.raises(BenchError, match="already holds LabDesk"):
        pg_copy.build(world.url, 10)


def test_a_tiny_run_reports_every_scenario_with_its_floor(
    server: pg.Server, world: pg_copy.PgWorld
) -> None:
    sizes = (500, SPECIMENS)
    plan = Plan(sizes=sizes, iterations=4, warmup=1, process_runs=1,
                database_url=server.url.render_as_string(hide_password=False))  # fmt: skip
    scenarios = postgres.scenarios()
    results = execute(plan, scenarios, lambda _m: None)
    assert not results.errors, results.errors
    assert [b.cached for b in results.builds] == [False, True]  # the 2k world is reused
    for scenario in scenarios:
        for size in sizes:
            (m,) = [
                x for x in results.measurements if (x.scenario, x.size) == (scenario.name, size)
            ]
            assert m.p95_ms > 0, m
            assert m.floor_p95_ms > 0, m
    assert {g.scenario for g in results.growth} == {s.name for s in scenarios}
    lines = postgres.target_lines(results, {("courier-scan", SPECIMENS): 2.0})
    assert [line.target.scenario for line in lines] == [t.scenario for t in postgres.TARGETS]
    assert all(line.status in {"MET", "MISSED"} for line in lines)
    assert "SQLite 2.00 ms" in lines[0].text()
    out = io.StringIO()
    write_table(results, out)
    assert "LabDesk bench (PostgreSQL" in out.getvalue()
    assert "psycopg" in out.getvalue()
    with server.admin().connect() as conn:  # the run's private copies are gone
        left = conn.scalars(
            text("SELECT datname FROM pg_database WHERE datname = :n"),
            {"n": server.run_name(SPECIMENS)},
        ).all()
    assert left == []


def test_the_command_refuses_what_does_not_run_on_postgresql(
    server: pg.Server, tmp_path: Path
) -> None:
    url = server.url.render_as_string(hide_password=False)
    runner = CliRunner()
    skipped = runner.invoke(cli, ["bench", "--database-url", url, "--only", "custody-verify"])
    assert skipped.exit_code != 0
    assert "does not run on PostgreSQL" in skipped.output
    assert "labdesk:" not in skipped.output.replace("labdesk:***", "")  # no password
    sqlite = runner.invoke(cli, ["bench", "--database-url", "sqlite:///x.db", "--only", "x"])
    assert sqlite.exit_code != 0
    assert "PostgreSQL" in sqlite.output
    bad = tmp_path / "report.json"
    bad.write_text(json.dumps([{"kind": "latency", "scenario": "x", "size": 1, "p95_ms": 1}]))
    compare_alone = runner.invoke(cli, ["bench", "--compare", str(bad)])
    assert compare_alone.exit_code != 0


def test_the_downtime_replay_runs_on_postgresql_in_a_database_of_its_own(
    server: pg.Server,
) -> None:
    from bench.downtime import replay as downtime_replay

    url = server.url.render_as_string(hide_password=False)
    scenario = downtime_replay.pg_replay_scenario(server)
    assert scenario.name in {s.name for s in postgres.scenarios(url)}
    assert scenario.name not in {s.name for s in postgres.scenarios()}
    plan = Plan(sizes=(500,), iterations=2, warmup=1, process_runs=1, database_url=url)
    results = execute(plan, [scenario], lambda _m: None)
    assert not results.errors, results.errors
    [measured] = results.measurements
    assert measured.p95_ms > 0
    assert measured.floor_p95_ms > 0
    admin = server.admin()
    with admin.connect() as conn:  # its clinic is dropped again
        left = conn.scalar(
            text("SELECT count(*) FROM pg_database WHERE datname = :n"),
            {"n": f"{server.url.database}_downtime"},
        )
    admin.dispose()
    assert left == 0
