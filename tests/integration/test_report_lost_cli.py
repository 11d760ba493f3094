"""``labdesk custody report-lost``: a coded reason, a note for "other", a recollection task."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from custody_world import PASSWORD, World
from sqlalchemy import Engine

from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.cli import cli
from labdesk.custody.pickup import finish_pickup, scan_for_pickup, start_pickup
from labdesk.domain.clock import FixedClock
from labdesk.domain.custody import CustodyEventKind as K
from labdesk.domain.loss import LossReason
from labdesk.domain.specimen import SpecimenStatus


def _run(sqlite_url: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {
        "LABDESK_DATABASE_URL": sqlite_url,
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_PASSWORD": PASSWORD,
    }
    result = CliRunner().invoke(
        cli, ["custody", "report-lost", *args], env=env, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def on_the_road(sqlite_engine: Engine, clock: FixedClock) -> tuple[World, str]:
    world = World.build(UnitOfWorkFactory(sqlite_engine), clock)
    accession = world.specimen(tests=("CMP",), container="SST")
    courier = world.users["chris"]
    with world.uow() as uow:
        number = start_pickup(uow, clock, courier, "CLINIC").number
    with world.uow() as uow:
        scan_for_pickup(uow, clock, courier, number, accession)
    with world.uow() as uow:
        finish_pickup(uow, clock, courier, number, PASSWORD, leave_behind=True)
    return world, accession


def test_report_lost_records_the_code_and_opens_the_recollection(
    on_the_road: tuple[World, str], sqlite_url: str, tmp_path: Path
) -> None:
    world, accession = on_the_road
    code, out, err = _run(
        sqlite_url,
        tmp_path,
        accession,
        "--reason",
        "temperature_excursion",
        "--note",
        "cooler at 14 C on arrival",
        "--location",
        "Route 2",
        "--user",
        "chris",
    )
    assert (code, err) == (0, "")
    assert f"{accession} reported lost (transport temperature out of range)" in out
    assert "recollection task" in out
    assert world.status(accession) is SpecimenStatus.LOST
    assert world.kinds(accession)[-2:] == [K.LOST, K.RECOLLECTION_REQUESTED]
    with world.uow() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        task = uow.recollections.for_specimen(specimen.id or 0)
        assert task is not None
        assert (task.loss_reason, task.note) == (
            LossReason.TEMPERATURE_EXCURSION,
            "cooler at 14 C on arrival",
        )


def test_other_without_a_note_and_unknown_codes_are_refused(
    on_the_road: tuple[World, str], sqlite_url: str, tmp_path: Path
) -> None:
    world, accession = on_the_road
    base = ("--location", "Route 2", "--user", "chris")
    code, _, err = _run(sqlite_url, tmp_path, accession, "--reason", "other", *base)
    assert code == 2
    assert "'other' needs a note" in err
    assert "What to do:" in err
    code, _, err = _run(sqlite_url, tmp_path, accession, "--reason", "dropped", *base)
    assert code == 2
    assert "not_in_bag" in err  # the valid codes are listed
    assert world.status(accession) is SpecimenStatus.IN_TRANSIT  # nothing recorded
