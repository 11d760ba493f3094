"""``labdesk label ...`` and ``labdesk print-test`` as an admin or a script runs them."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fakes_printer import FakeZebra
from spool_world import STATION, World, build_world, decode_png
from sqlalchemy import text

from labdesk.adapters import migrate
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.cli import _load_plugins, cli
from labdesk.domain.clock import FixedClock

pytestmark = pytest.mark.integration

Run = Callable[..., Result]


def _database(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'labdesk.sqlite3'}"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_DATABASE_URL": "",
        "LABDESK_STATION": STATION,
        "LABDESK_LABEL_PRINTER": "",
    }


@pytest.fixture
def make_world(env: dict[str, str], clock: FixedClock) -> Callable[..., World]:
    """Build the synthetic clinic in the database the command line will open."""

    def make(**kwargs: object) -> World:
        engine = make_engine(_database(Path(env["LABDESK_DATA_DIR"])))
        try:
            migrate.upgrade(engine)
            return build_world(UnitOfWorkFactory(engine), clock, **kwargs)  # type: ignore[arg-type]
        finally:
            engine.dispose()

    return make


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world(containers=("SST",))


@pytest.fixture
def run(env: dict[str, str]) -> Run:
    _load_plugins()

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def _sql(env: dict[str, str], statement: str) -> list[tuple[object, ...]]:
    engine = make_engine(_database(Path(env["LABDESK_DATA_DIR"])))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_label_print_sends_the_job_to_the_printer(
    run: Run, world: World, fake_zebra: FakeZebra
) -> None:
    result = run("label", "print", "--accession", world.accessions[0], "--printer", fake_zebra.uri)
    assert result.exit_code == 0, result.output
    assert f"({world.accessions[0]}): printed on {fake_zebra.uri}" in result.output
    (job,) = fake_zebra.wait_for_jobs(1)
    assert world.accessions[0].encode() in job


def test_unreachable_printer_exits_2_and_keeps_the_job_for_the_spooler(
    run: Run, env: dict[str, str], world: World, closed_port: int
) -> None:
    uri = f"tcp://127.0.0.1:{closed_port}"
    result = run("label", "print", "--accession", world.accessions[0], "--printer", uri)
    assert result.exit_code == 2
    assert "kept in the queue, not printed yet: Cannot connect" in result.output
    assert "What to do:" in result.output
    assert "queued" in run("label", "queue").output

    printer = FakeZebra(port=closed_port)
    try:
        _sql(env, "UPDATE print_jobs SET next_attempt_at = NULL")  # the back-off has passed
        spooled = run("label", "spool")
        assert spooled.exit_code == 0
        assert "Printed 1," in spooled.output
        assert len(printer.wait_for_jobs(1)) == 1
    finally:
        printer.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--printer", "ftp://printer"), "Invalid printer address 'ftp://printer'"),
        ((), "Station STATION-T has no label printer"),
    ],
    ids=["bad-uri", "no-printer"],
)
def test_printer_problems_exit_2_and_the_failed_job_is_kept(
    run: Run, env: dict[str, str], world: World, args: tuple[str, ...], message: str
) -> None:
    result = run("label", "print", "--accession", world.accessions[0], *args)
    assert result.exit_code == 2
    assert message in result.output
    assert _sql(env, "SELECT status FROM print_jobs") == [("failed",)]


@pytest.mark.parametrize(
    ("accession", "message"),
    [
        ("2500000012", "No specimen has accession ID 2500000012"),
        ("2600000015", "fails its check digit"),
        ("ABC", "is not a specimen accession ID"),
    ],
    ids=["not-found", "check-digit", "malformed"],
)
@pytest.mark.parametrize("command", ["print", "render"])
def test_bad_accessions_exit_2_with_what_to_do(
    run: Run, world: World, tmp_path: Path, accession: str, message: str, command: str
) -> None:
    extra = ("--format", "zpl", "-o", str(tmp_path / "x.zpl")) if command == "render" else ()
    result = run("label", command, "--accession", accession, *extra)
    assert result.exit_code == 2
    assert message in result.output
    assert "What to do:" in result.output


@pytest.mark.parametrize("fmt", ["zpl", "pdf", "png"])
def test_label_render_writes_the_file(run: Run, world: World, tmp_path: Path, fmt: str) -> None:
    output = tmp_path / f"label.{fmt}"
    result = run(
        "label", "render", "--accession", world.accessions[0], "--format", fmt, "-o", str(output)
    )
    assert result.exit_code == 0, result.output
    data = output.read_bytes()
    magic = {"zpl": b"^XA", "pdf": b"%PDF-", "png": b"\x89PNG"}[fmt]
    assert data.startswith(magic)
    if fmt == "png":
        assert decode_png(data) == world.accessions


def test_a_label_render_is_owner_only(run: Run, world: World, tmp_path: Path) -> None:
    # Name, date of birth and MRN: 0600 in a new 0700 folder, an old 0644 file tightened.
    old = tmp_path / "old.zpl"
    old.write_bytes(b"")
    old.chmod(0o644)
    new = tmp_path / "renders" / "label.zpl"
    previous = os.umask(0o022)
    try:
        for output in (old, new):
            result = run(
                "label", "render", "--accession", world.accessions[0], "--format", "zpl",
                "-o", str(output),
            )  # fmt: skip
            assert result.exit_code == 0, result.output
    finally:
        os.umask(previous)
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert stat.S_IMODE(new.parent.stat().st_mode) == 0o700


def test_render_with_an_unknown_preset_lists_the_known_ones(
    run: Run, world: World, tmp_path: Path
) -> None:
    result = run(
        "label",
        "render",
        "--accession",
        world.accessions[0],
        "--format",
        "png",
        "-o",
        str(tmp_path / "x.png"),
        "--preset",
        "4x6",
    )
    assert result.exit_code == 2
    assert "Unknown label preset '4x6'. Known presets: 2x1-203" in result.output
    assert not (tmp_path / "x.png").exists()


def test_a_label_that_does_not_fit_says_what_and_how(
    run: Run, make_world: Callable[..., World], tmp_path: Path
) -> None:
    world = make_world(containers=("SST",), mrn="W" * 24)
    result = run(
        "label", "render", "--accession", world.accessions[0], "--format", "zpl", "-o",
        str(tmp_path / "x.zpl"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert f"'MRN {'W' * 24}' does not fit on the label" in result.output
    assert "Choose a larger label preset" in result.output


def test_print_test_reports_status_first_then_prints_a_scannable_label(
    run: Run, world: World, fake_zebra: FakeZebra
) -> None:
    result = run("print-test", "--printer", fake_zebra.uri)
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()[:2]
    assert first == f"Printer {fake_zebra.uri}: Ready"
    assert "Test label printed" in second
    assert "0000000013" in second
    (job,) = fake_zebra.wait_for_jobs(1)
    assert b"^FD0000000013^FS" in job
    assert b"TEST LABEL" in job


def test_print_test_on_a_dead_printer_exits_2(run: Run, world: World, closed_port: int) -> None:
    result = run("print-test", "--printer", f"tcp://127.0.0.1:{closed_port}")
    assert result.exit_code == 2
    assert result.output.startswith(f"Printer tcp://127.0.0.1:{closed_port}: Not ready")
    assert "Test label job" in result.output
    assert "FAILED" in result.output


def test_reprint_needs_a_reason_and_marks_the_label(
    run: Run, env: dict[str, str], world: World, fake_zebra: FakeZebra
) -> None:
    assert run("label", "print", "--accession", world.accessions[0], "--printer", fake_zebra.uri)
    (job_id,) = _sql(env, "SELECT id FROM print_jobs")[0]
    missing = run("label", "reprint", str(job_id), "--printer", fake_zebra.uri)
    assert missing.exit_code == 2
    assert "Missing option '--reason'" in missing.output
    result = run(
        "label", "reprint", str(job_id), "--reason", "smudged", "--printer", fake_zebra.uri
    )
    assert result.exit_code == 0, result.output
    jobs = fake_zebra.wait_for_jobs(2)
    assert b"REPRINT 1" in jobs[1]
    assert _sql(env, "SELECT reprint_of_id, reprint_reason FROM print_jobs WHERE id > 1") == [
        (job_id, "smudged")
    ]


def test_audit_names_the_command_line(run: Run, env: dict[str, str], world: World) -> None:
    devnull = Path(os.devnull)
    devnull_mode = devnull.stat().st_mode
    run("label", "render", "--accession", world.accessions[0], "--format", "zpl", "-o", os.devnull)
    assert devnull.stat().st_mode == devnull_mode  # a device is written, never re-moded
    ((detail, user),) = _sql(
        env, "SELECT detail, user_id FROM audit_entries WHERE action = 'export'"
    )
    assert (detail, user) == ("label rendered to a file (command line)", None)
