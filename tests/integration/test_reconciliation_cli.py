"""``labdesk sync conflicts`` and ``labdesk sync stations`` from the command line (issue 12)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import insert

from labdesk.adapters.database import make_engine
from labdesk.adapters.orm.downtime import accession_blocks, replayed_commands
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.cli import _load_plugins, cli
from labdesk.domain.clock import FixedClock
from labdesk.downtime.contacts import ContactReport, report_contact


def test_conflicts_and_stations_commands(
    tmp_path: Path, sqlite_path: Path, migrated_sqlite_file: Path
) -> None:
    shutil.copy(migrated_sqlite_file, sqlite_path)
    url = f"sqlite:///{sqlite_path}"
    env = {
        "LABDESK_DATA_DIR": str(tmp_path / "data"),
        "LABDESK_CONFIG": str(tmp_path / "absent.toml"),
        "LABDESK_DATABASE_URL": url,
        "LABDESK_STATION": "DRAW-2",
    }
    _load_plugins()
    runner = CliRunner()
    empty = runner.invoke(cli, ["sync", "conflicts"], env=env)
    assert empty.exit_code == 0, empty.output
    assert "No downtime conflicts to reconcile." in empty.output
    now = FixedClock(datetime.now(UTC))
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(replayed_commands).values(
                idempotency_key="k-cli",
                station="DRAW-2",
                seq=3,
                command="CollectSpecimens",
                happened_at=now.now() - timedelta(hours=1),
                synced_at=now.now(),
                outcome="refused",
                reason="Order 4 was cancelled; nothing to collect.",
            )
        )
        conn.execute(
            insert(accession_blocks).values(
                station="DRAW-3",
                year=2026,
                first=501,
                last=600,
                issued_up_to=540,
                reserved_at=now.now(),
            )
        )
    report_contact(
        UnitOfWorkFactory(engine),
        ContactReport(
            station="DRAW-2",
            station_clock_at=now.now() - timedelta(minutes=5),
            outbox_pending=2,
            outbox_conflicts=1,
            block_remaining=150,
        ),
        now,
    )
    engine.dispose()
    listed = runner.invoke(cli, ["sync", "conflicts"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "1 downtime conflict(s):" in listed.output
    assert "[order_cancelled] DRAW-2 CollectSpecimens" in listed.output
    assert "choose: cancel_and_recollect, discard_offline_tube" in listed.output
    shown = runner.invoke(cli, ["sync", "stations"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "DRAW-2:" in shown.output
    assert "outbox 2 pending / 1 conflicts, block left 150, skew -300s !" in shown.output
    assert "DRAW-3: last contact never" in shown.output
    assert "reserved, unused: 2026 541-600 (60)" in shown.output
