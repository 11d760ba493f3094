"""``labdesk hl7 ...`` and ``labdesk fhir export`` as an operator runs them (SQLite file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hl7_world import ACC_LAV, build_world, group, obx, oru

from labdesk.access.auth import create_user
from labdesk.adapters.database import make_engine
from labdesk.adapters.migrate import upgrade
from labdesk.cli import cli
from labdesk.domain.clock import FixedClock
from labdesk.domain.people import Role

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "data/hl7").glob("*.hl7"))


@pytest.fixture
def env(tmp_path: Path, clock: FixedClock) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    world = build_world(engine, clock)
    with world.uow() as uow:
        create_user(
            uow,
            clock,
            username="boss",
            display_name="Boss Admin",
            role=Role.ADMIN,
            password="tangerine lamp orbit violin",
        )
        create_user(
            uow,
            clock,
            username="doc",
            display_name="Doc Tor",
            role=Role.CLINICIAN,
            password="tangerine lamp orbit violin",
        )
        uow.commit()
    engine.dispose()
    return {
        "LABDESK_DATABASE_URL": url,
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_PASSWORD": "tangerine lamp orbit violin",
    }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_import_files_then_worklist(env: dict[str, str], tmp_path: Path) -> None:
    lf = tmp_path / "batch.txt"
    lf.write_text(
        "BHS|^~\\&|LAB\n"
        + oru("CLI1", group("HGB", "F", obx("718-7", "12"), filler=ACC_LAV), end="\n")
        + oru("CLI2", group("ZZZ", "F", obx("1-1", "1"), filler=ACC_LAV), end="\n")
        + "BTS|2\n"
    )
    framed = tmp_path / "framed.mllp"
    framed.write_bytes(b"\x0b" + SAMPLES[0].read_bytes() + b"\x1c\r" + b"\x0bnot hl7\x1c\r")
    result = run(env, "hl7", "import", str(lf), str(framed), *map(str, SAMPLES), "--user", "boss")
    assert result.exit_code == 0, result.output
    assert "applied" in result.output
    assert "1 duplicate(s), 1 refused" in result.output  # SAMPLES[0] twice; "not hl7"
    listing = run(env, "hl7", "worklist", "--user", "boss")
    assert listing.exit_code == 0, listing.output
    assert "Dead letters: 1" in listing.output
    assert "not in the catalog" in listing.output  # CLI2's unknown test
    doc = run(env, "hl7", "worklist", "--user", "doc")  # clinicians see unmatched only
    assert doc.exit_code == 0
    assert "Dead letters" not in doc.output
    assert "Unmatched results:" in doc.output


def test_fhir_export_writes_a_bundle(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    result = run(env, "fhir", "export", "--specimen", ACC_LAV, "-o", str(out), "--user", "doc")
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text())
    assert bundle["resourceType"] == "Bundle"
    assert (
        run(
            env, "fhir", "export", "--specimen", "0000000000", "-o", str(out), "--user", "doc"
        ).exit_code
        == 2
    )


def test_send_queued_needs_an_address(env: dict[str, str]) -> None:
    result = run(env, "hl7", "send-queued")
    assert result.exit_code == 2
    assert "No lab address" in result.output
