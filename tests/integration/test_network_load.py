"""The clinic-network load scenario (``bench.network``) on PostgreSQL: a small run end to end,
and the correctness counts on a database where each anomaly was put on purpose."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from bench.network import correctness, live, run_network_load, world
from labdesk.cli import cli
from labdesk.domain.clock import SystemClock

pytestmark = pytest.mark.integration

FINAL = re.compile(
    r"^network-load: (\d+) stations, (\d+) actions, p95 ([\d.]+|n/a) ms, live p95 ([\d.]+|n/a) "
    r"ms, correctness: (\d+) duplicate accessions, (\d+) double pickups, (\d+) jobs sent twice, "
    r"(\d+) results stored twice$"
)
ACTIONS = (
    "patient scan",
    "collection",
    "label print",
    "scan-back",
    "pickup scan",
    "lab receipt",
    "board load",
    "board re-filter",
)


def _run(url: str, **kwargs: object) -> tuple[int, str]:
    out = io.StringIO()
    code = run_network_load(url, quick=True, out=out, progress=lambda _line: None, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue()


def _row(report: str, action: str) -> list[str]:
    for line in report.splitlines():
        if line.startswith(action + "  "):
            return line[len(action) :].split()
    raise AssertionError(f"no row for {action!r} in:\n{report}")


def test_three_stations_as_processes_report_every_figure_and_zero_counts(
    pg_engine: Engine, pg_url: str
) -> None:
    code, report = _run(pg_url, stations=3, actions_per_station=6, specimens=2000, hl7_messages=40)
    assert code == 0, report
    last = report.rstrip("\n").splitlines()[-1]
    match = FINAL.match(last)
    assert match is not None, last
    stations, actions = int(match[1]), int(match[2])
    assert stations == 3
    assert actions >= 3 * 6  # chairs finish their last pickup and receipt
    assert match[3] != "n/a"
    assert [int(n) for n in match.groups()[4:]] == [0, 0, 0, 0]
    for action in ACTIONS:
        n, p50, p95, *_ = _row(report, action)
        assert int(n) > 0
        assert 0 < float(p50) <= float(p95)
    assert re.search(r"throughput: \d+ station actions in [\d.]+ s", report)
    hl7 = re.search(r"hl7: (\d+) results accepted \((\d+) sent", report)
    assert hl7 is not None, report
    assert int(hl7[1]) == 40
    assert "ACK p50" in report
    assert re.search(
        r"contention: \d+ serialization failures retried, \d+ deadlocks retried", report
    )
    cpu = re.search(r"cpu: (\d+) CPUs (\d+)% busy .*used (\d+) CPU-s, .* (\d+) CPU-s", report)
    assert cpu is not None, report  # the share of the machine the figures were measured on
    assert int(cpu[1]) >= 1
    assert 0 <= int(cpu[2]) <= 100
    assert int(cpu[3]) >= 1  # the stations did the work: they used CPU
    assert "ERROR" not in report
    with pg_engine.connect() as conn:
        picked = conn.scalar(text("SELECT count(*) FROM custody_events WHERE kind = 'picked_up'"))
        jobs = conn.scalar(text("SELECT count(*) FROM print_jobs WHERE status = 'done'"))
        filler = conn.scalar(text("SELECT count(*) FROM specimens"))
    assert picked
    assert jobs
    assert filler is not None
    assert filler >= 2000


def _craft_anomalies(engine: Engine) -> None:
    """One duplicate accession, a double pickup, a job sent twice, a result stored twice."""
    with engine.begin() as conn:
        unique = conn.scalars(
            text(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'specimens'::regclass"
                " AND contype = 'u' AND pg_get_constraintdef(oid) LIKE '%(accession)%'"
            )
        ).all()
        for name in unique:  # the crafted database lets an accession be issued twice
            conn.execute(text(f'ALTER TABLE specimens DROP CONSTRAINT "{name}"'))
        conn.execute(
            text(
                "INSERT INTO specimens (accession, patient_id, container_code, site_id, status,"
                " temperature_class, collected_at, collected_by_id, collection_note, created_at)"
                " SELECT '8000000001', patient_id, container_code, site_id, status,"
                " temperature_class, collected_at, collected_by_id, '', created_at"
                " FROM specimens, generate_series(1, 2) ORDER BY id LIMIT 2"
            )
        )
        picked = (
            conn.execute(
                text("SELECT * FROM custody_events WHERE kind = 'picked_up' ORDER BY id LIMIT 1")
            )
            .mappings()
            .one()
        )
        top = conn.scalar(
            text("SELECT max(seq) FROM custody_events WHERE specimen_id = :s"),
            {"s": picked["specimen_id"]},
        )
        row = dict(picked)
        row.pop("id")
        row.update(seq=int(top) + 1, hash="d" * 64, chain_hash="e" * 64)
        columns = ", ".join(row)
        conn.execute(
            text(
                f"INSERT INTO custody_events ({columns}) VALUES ({', '.join(':' + c for c in row)})"
            ),
            row,
        )
        specimen = conn.scalar(text("SELECT min(id) FROM specimens"))
        for _ in range(2):
            conn.execute(
                text(
                    "INSERT INTO print_jobs (kind, printer_uri, station_code, specimen_id, status,"
                    " content_json, payload, attempts, last_error, created_at, reprint_reason)"
                    " VALUES ('label', 'tcp://127.0.0.1:9', 'NET01-1', :s, 'done', '', 'x', 0,"
                    " '', now(), '')"
                ),
                {"s": specimen},
            )
        test_id = conn.scalar(text("SELECT min(id) FROM ordered_tests"))
        for _ in range(2):
            conn.execute(
                text(
                    "INSERT INTO results (ordered_test_id, specimen_id, observation_code,"
                    " observation_name, value, units, reference_range, status, received_at,"
                    " message_id) VALUES (:t, :s, '57021-8', 'CBC', '4.2', '', '', 'F', now(),"
                    " 'CRAFTED-1')"
                ),
                {"t": test_id, "s": specimen},
            )


def test_each_crafted_anomaly_is_counted_once_and_fails_the_run(
    pg_engine: Engine, pg_url: str
) -> None:
    world.build_world(
        pg_url,
        pg_engine,
        SystemClock(),
        chairs=1,
        clinicians=1,
        visits_per_chair=1,
        hl7_pool=2,
        specimens=0,
        seed=3,
        progress=lambda _line: None,
    )
    assert correctness.count(pg_engine).clean
    _craft_anomalies(pg_engine)
    counts = correctness.count(pg_engine)
    assert counts == correctness.Counts(1, 1, 1, 1)
    assert not counts.clean
    assert correctness.count(pg_engine, printer_duplicates=2).jobs_sent_twice == 3
    code, report = _run(pg_url, stations=2, actions_per_station=2, specimens=0, hl7_messages=10)
    assert code == 1, report
    assert (
        report.rstrip("\n")
        .splitlines()[-1]
        .endswith(
            "correctness: 1 duplicate accessions, 1 double pickups, 1 jobs sent twice, "
            "1 results stored twice"
        )
    )


def test_a_database_restart_halfway_is_survived_with_zero_counts(
    pg_engine: Engine, pg_url: str
) -> None:
    """``--fault restart``: every connection dropped (and refused for a second) halfway."""
    runner = CliRunner()
    args = ["bench", "--database-url", pg_url, "--only", "network-load", "--quick", "--stations",
            "3", "--actions", "8", "--specimens", "0", "--fault", "restart"]  # fmt: skip
    result = runner.invoke(cli, args)
    report = result.stdout
    assert result.exit_code == 0, report + result.stderr
    assert "database connections cut" in result.stderr
    cut = re.search(r"\((\d+) connections cut\)", report)
    assert cut is not None, report
    assert int(cut[1]) > 0
    live = re.search(
        r"live updates: (\d+) changes heard, (\d+) never heard.*, (\d+) reconnects", report
    )
    assert live is not None, report
    assert int(live[3]) >= 1  # the listening workstation lost its connection and came back
    assert int(live[2]) == 0
    assert "ERROR" not in report
    match = FINAL.match(report.rstrip("\n").splitlines()[-1])
    assert match is not None, report
    assert [int(n) for n in match.groups()[4:]] == [0, 0, 0, 0]
    with pg_engine.connect() as conn:  # the run went on after the cut: every visit finished
        open_visits = conn.scalar(
            text(
                "SELECT count(*) FROM encounters"
                " WHERE ended_at IS NULL AND station_code LIKE 'NET%'"
            )
        )
    assert open_visits == 0


def test_network_options_need_the_network_load_scenario() -> None:
    result = CliRunner().invoke(cli, ["bench", "--stations", "3"])
    assert result.exit_code != 0
    assert "--only network-load" in result.output


def test_filler_rows_bring_a_database_up_to_the_wanted_size(pg_engine: Engine) -> None:
    """The 10M-specimen background: server-side batches, every row tied to a patient."""
    world.build_world(
        str(pg_engine.url.render_as_string(hide_password=False)), pg_engine, SystemClock(),
        chairs=1, clinicians=1, visits_per_chair=1, hl7_pool=2, specimens=0, seed=4,
        progress=lambda _line: None,
    )  # fmt: skip
    with pg_engine.connect() as conn:
        before = int(conn.scalar(text("SELECT count(*) FROM specimens")) or 0)
    added = world.ensure_specimens(pg_engine, before + 2_500, lambda _line: None)
    assert added == 2_500
    assert world.ensure_specimens(pg_engine, before + 2_500, lambda _line: None) == 0
    with pg_engine.connect() as conn:
        total, patients, orphans, accessions = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT s.patient_id), count(*) FILTER (WHERE p.id IS"
                " NULL), count(DISTINCT s.accession) FROM specimens s LEFT JOIN patients p"
                " ON p.id = s.patient_id WHERE s.accession LIKE '9%'"
            )
        ).one()
    assert (total, orphans, accessions) == (2_500, 0, 2_500)
    assert 600 <= patients <= 630  # four specimens a filler patient
    assert correctness.count(pg_engine).clean


def test_an_empty_database_is_copied_one_clinic_year_and_filled_with_archive_rows(
    pg_engine: Engine, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10M specimens do not fit one accession year: the COPY loader builds at most the
    clinic's year (its orders, board and custody chains), the archive filler the rest."""
    with pg_engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    monkeypatch.setattr(world, "CLINIC_SPECIMENS", 1_500)
    net = world.build_world(
        pg_url, pg_engine, SystemClock(), chairs=1, clinicians=1, visits_per_chair=1,
        hl7_pool=2, specimens=2_000, seed=4, progress=lambda _line: None,
    )  # fmt: skip
    with pg_engine.connect() as conn:
        copied, filler, total = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE site_id = (SELECT id FROM sites WHERE code"
                " = 'BENCH')), count(*) FILTER (WHERE accession LIKE '9%'), count(*)"
                " FROM specimens"
            )
        ).one()
    assert (copied, total, net.specimens) == (1_500, 2_000, 2_000)
    assert 0 < filler <= 500  # the rest, less the run's own received specimens
    assert correctness.count(pg_engine).clean


def test_the_live_delay_runs_from_the_answer_to_the_first_arrival() -> None:
    marks = [("specimens:1", 100.0), ("specimens:2", 100.0), ("specimens:3", 100.0)]
    heard = [
        ("specimens:1", 100.25),
        ("specimens:1", 109.0),  # a later change of the same tube
        ("specimens:2", 99.9),  # notified at commit, before the station had its answer
        ("not ours", 100.1),
    ]
    found, missing = live.delays(marks, heard)
    assert [round(ms) for ms in found] == [250, 0]
    assert missing == 1
