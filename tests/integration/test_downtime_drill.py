"""``labdesk downtime drill`` on a real PostgreSQL server, through the proxy it owns.

The drill's own counts are checked against the server here, so a drill that reported
"0 lost" while losing work would fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from labdesk.adapters.orm import patients, specimens
from labdesk.adapters.orm.downtime import (
    accession_blocks,
    reconciliation_items,
    replayed_commands,
)
from labdesk.cli import cli

LINE = re.compile(
    r"^drill: (\d+) actions offline, (\d+) synced, (\d+) lost, (\d+) duplicated, "
    r"(\d+) conflicts flagged, switch ([\d.]+) s, replay (\d+) actions/s$"
)


def test_the_drill_cuts_two_stations_off_replays_them_and_finds_nothing_lost(
    pg_engine: Engine, tmp_path: Path
) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli,
        ["downtime", "drill", "--database-url", url, "--workdir", str(tmp_path)],
        env={"LABDESK_DATA_DIR": str(tmp_path / "data")},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    match = LINE.match(last)
    assert match, last
    offline, synced, lost, duplicated, conflicts = (int(g) for g in match.groups()[:5])
    switch = float(match.group(6))
    assert (lost, duplicated) == (0, 0)
    assert conflicts >= 1  # the second station drew a test the first had drawn
    held = re.search(r"\((\d+) scans held with them\)", result.output)
    assert held, result.output
    assert synced + conflicts + int(held.group(1)) == offline  # every action accounted for
    assert int(held.group(1)) == 5  # the refused draw's labels, 2 scan-backs, 2 pickup scans
    assert switch <= 3.0
    with pg_engine.connect() as conn:
        tubes = conn.scalar(
            select(func.count())
            .select_from(specimens.join(patients, patients.c.id == specimens.c.patient_id))
            .where(patients.c.mrn.like("D%"))
        )
        refused = conn.scalar(
            select(func.count())
            .select_from(replayed_commands)
            .where(replayed_commands.c.outcome == "refused")
        )
        worklist = conn.scalar(
            select(func.count())
            .select_from(reconciliation_items)
            .where(reconciliation_items.c.state == "open")
        )
        used = conn.execute(
            select(
                accession_blocks.c.station,
                accession_blocks.c.issued_up_to - accession_blocks.c.first + 1,
            ).where(accession_blocks.c.station.like("DRILL-%"))
        ).all()
    assert worklist == conflicts  # each refusal waits in the reconciliation worklist
    # Each station reported how far it got in its block: 4 and 6 serials used offline, the
    # rest recorded as reserved-but-unused (a gap, not a lost tube).
    assert sorted(n for _station, n in used) == [4, 6]
    assert tubes == 8  # 2 stations x 2 visits x 2 tubes; the conflicting draw is not applied
    assert refused == conflicts
    labels = list((tmp_path / "printer").rglob("*.zpl"))
    assert labels, "nothing reached the drill's virtual printers"
    # Run again on the same server: a second drill is its own clinic and passes too.
    again = CliRunner().invoke(
        cli,
        ["downtime", "drill", "--database-url", url, "--workdir", str(tmp_path / "again")],
        env={"LABDESK_DATA_DIR": str(tmp_path / "data")},
        catch_exceptions=False,
    )
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("visits", [1])
def test_a_drill_against_an_unreachable_server_says_so(tmp_path: Path, visits: int) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "downtime",
            "drill",
            "--database-url",
            "postgresql+psycopg://labdesk:labdesk@127.0.0.1:9/nowhere",
            "--workdir",
            str(tmp_path),
            "--visits",
            str(visits),
        ],
        env={"LABDESK_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.exit_code == 2, result.output
    assert "Cannot reach the database server" in result.output, result.output
