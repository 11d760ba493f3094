"""The station file: owner-only, one transaction for an action and its outbox entry, and a
damaged or foreign file refused and left exactly as it was."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from labdesk.adapters.downtime.station_store import open_station_store
from labdesk.domain.clock import FixedClock
from labdesk.downtime.blocks import AccessionBlock
from labdesk.downtime.errors import BlockExhausted, OutboxUnreadable
from labdesk.downtime.offline import issue_offline_accession, queue_command
from labdesk.downtime.outbox import OutboxState
from labdesk.station.commands import PlaceOrder

AT = datetime(2026, 3, 2, 9, 14, tzinfo=UTC)
STATION = "DRAW-2"


def _order(patient_id: int = 1) -> PlaceOrder:
    return PlaceOrder(patient_id=patient_id, test_codes=("CBC",), ordering_provider="Dr. A")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "station.sqlite3"


def _with_block(path: Path, size: int = 3) -> None:
    store = open_station_store(path, STATION)
    with store() as uow:
        uow.blocks.put(AccessionBlock(7, STATION, 2026, 1001, 1000 + size, 1000, AT))
        uow.commit()
    store.close()


def test_the_file_is_owner_only_even_if_widened(path: Path) -> None:
    open_station_store(path, STATION).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    open_station_store(path, STATION).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_action_and_its_outbox_entry_commit_or_roll_back_together(path: Path) -> None:
    _with_block(path)
    store = open_station_store(path, STATION)
    with store.engine.connect() as conn:  # a saved action survives a power cut too
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    clock = FixedClock(AT)
    with store() as uow:  # not committed: neither the ID nor the entry is kept
        issue_offline_accession(uow, STATION, clock)
        queue_command(uow, _order(), None, clock)
    with store() as uow:
        assert uow.outbox.pending() == []
        assert uow.blocks.all()[0].used == 0
    with store() as uow:
        accession = issue_offline_accession(uow, STATION, clock)
        seq = queue_command(uow, _order(), None, clock)
        uow.commit()
    store.close()
    reopened = open_station_store(path, STATION)
    with reopened() as uow:
        [entry] = uow.outbox.pending()
        assert (entry.seq, entry.state, entry.happened_at) == (seq, OutboxState.PENDING, AT)
        assert uow.blocks.all()[0].issued_up_to == int(accession[2:9]) == 1001
    reopened.close()


def test_offline_ids_run_out_with_a_clear_refusal(path: Path) -> None:
    _with_block(path, size=2)
    store = open_station_store(path, STATION)
    clock = FixedClock(AT)
    for _ in range(2):
        with store() as uow:
            issue_offline_accession(uow, STATION, clock)
            uow.commit()
    with store() as uow, pytest.raises(BlockExhausted) as refused:
        issue_offline_accession(uow, STATION, clock)
    assert "DRAW-2 has used every accession ID" in refused.value.message
    assert "labdesk sync run" in refused.value.hint
    store.close()


def test_seq_is_never_reused(path: Path) -> None:
    store = open_station_store(path, STATION)
    clock = FixedClock(AT)
    with store() as uow:
        first = queue_command(uow, _order(1), None, clock)
        uow.commit()
    with store() as uow:
        uow.session.execute(text("DELETE FROM station_outbox"))
        uow.commit()
    with store() as uow:
        assert queue_command(uow, _order(2), None, clock) == first + 1
    store.close()


def _bump_version(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE station_meta SET value = '0' WHERE key = 'version'")


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # the first page's b-tree, past the header
    path.write_bytes(bytes(data))


def _not_sqlite(path: Path) -> None:
    path.write_bytes(b"this is not a station file\n" * 200)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_bump_version, "another LabDesk version"),
        (_garble, "damaged"),
        (_not_sqlite, "not a LabDesk station file"),
    ],
    ids=["older-version", "corrupt", "not-sqlite"],
)
def test_a_bad_file_is_refused_and_kept_byte_for_byte(
    path: Path, damage: object, says: str
) -> None:
    store = open_station_store(path, STATION)
    with store() as uow:
        queue_command(uow, _order(), None, FixedClock(AT))
        uow.commit()
    store.close()
    damage(path)  # type: ignore[operator]
    before = path.read_bytes()
    with pytest.raises(OutboxUnreadable, match=says) as refused:
        open_station_store(path, STATION)
    assert path.read_bytes() == before
    assert str(path) in refused.value.hint
    assert "administrator" in refused.value.hint


def test_another_stations_file_is_refused(path: Path) -> None:
    open_station_store(path, STATION).close()
    with pytest.raises(OutboxUnreadable, match="belongs to station 'DRAW-2'"):
        open_station_store(path, "DRAW-9")
