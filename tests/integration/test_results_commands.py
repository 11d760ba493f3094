"""The clinician board's commands and queries through the bus, on SQLite and PostgreSQL.

The use cases themselves are tested in ``test_overdue_services.py`` and
``test_board_table.py``; here: each command does its use case once per idempotency key in
the bus's one transaction, the reads (board load, drill-down, signing preview, overdue
counts) are queries that leave no ``handled_commands`` row while what they commit
themselves (the board table's refresh, the view audit) stays, and the use cases the
commands added (the export of what the board's query matches, covering by user name) do
what the screen and the command line did in several steps before.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select

from labdesk.access import credentials
from labdesk.access.auth import create_user, session_of
from labdesk.adapters.orm.board import board_dirty, board_entries
from labdesk.adapters.orm.commands import handled_commands
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain import order
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import NotFound, PermissionDenied, ValidationError
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.people import Role
from labdesk.domain.result import AbnormalFlag, AckMeaning, Result, ResultStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.kernel.messagebus import AlreadyHandled, MessageBus
from labdesk.results.acknowledge import result_detail, signing_preview
from labdesk.results.board import load_board, matching_rows, overdue_tally
from labdesk.results.board_query import ANY_FLAG, BoardQuery, SortKey
from labdesk.results.commands import (
    AcknowledgeResults,
    EscalateOverdueCriticals,
    ExportOutstanding,
    RebuildBoard,
    SetCoveringClinician,
)
from labdesk.results.export import ExportFormat
from labdesk.seed.demo import STATES, seed_demo

Status = order.TestStatus  # not imported by name: pytest would try to collect Test*
POLICY = OverduePolicy()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        credentials, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def uow(engine: Engine, clock: FixedClock) -> UnitOfWorkFactory:
    """Two demo patients in every state of the loop."""
    factory = UnitOfWorkFactory(engine)
    with factory() as u:
        ensure_shipped_catalog(u)
        seed_demo(u, clock, patients=2 * len(STATES), seed=3)
        u.commit()
    return factory


@pytest.fixture
def bus(uow: UnitOfWorkFactory, clock: FixedClock) -> MessageBus:
    return MessageBus(uow, clock)


def user(uow: UnitOfWorkFactory, username: str) -> SignedInUser:
    with uow() as u:
        found = u.people.user_by_username(username)
        assert found is not None
        return session_of(found, "STATION-1")


def handled(engine: Engine, name: str | None = None) -> int:
    """``handled_commands`` rows of the command ``name`` (of every command without one)."""
    query = select(func.count()).select_from(handled_commands)
    if name is not None:
        query = query.where(handled_commands.c.command == name)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_board_load_detail_preview_and_sign_off(
    bus: MessageBus, uow: UnitOfWorkFactory, engine: Engine
) -> None:
    doctor = user(uow, "doctor")
    board = bus.query(load_board, bus.clock, doctor, POLICY, station="STATION-1")
    target = next(r for r in board.rows if r.status is Status.FINAL)
    detail = bus.query(result_detail, bus.clock, doctor, POLICY, target.ordered_test_id)
    assert detail.row.ordered_test_id == target.ordered_test_id
    preview = bus.query(signing_preview, bus.clock, doctor, (target.ordered_test_id,))
    assert [line.ordered_test_id for line in preview.to_sign] == [target.ordered_test_id]

    sign = AcknowledgeResults(
        ordered_test_ids=(target.ordered_test_id,), meaning=AckMeaning.REVIEWED, note="ok"
    )
    outcome = bus.handle(sign, doctor)
    assert outcome.acknowledged == [target.ordered_test_id]
    with pytest.raises(AlreadyHandled):
        bus.handle(sign, doctor)  # a retry after a lost answer signs nothing more
    with uow() as u:
        assert len(u.board.acknowledgement_rows(target.ordered_test_id)) == 1
    again = bus.query(load_board, bus.clock, doctor, POLICY, audit=False)
    assert target.ordered_test_id not in {r.ordered_test_id for r in again.rows}
    assert handled(engine, "AcknowledgeResults") == 1
    assert handled(engine) == 1  # the reads are queries: no command record


def test_a_refused_command_leaves_no_key(
    bus: MessageBus, uow: UnitOfWorkFactory, engine: Engine
) -> None:
    ma = user(uow, "ma")
    with pytest.raises(PermissionDenied):
        bus.query(load_board, bus.clock, ma, POLICY)
    with pytest.raises(PermissionDenied):
        bus.handle(AcknowledgeResults(ordered_test_ids=(1,), meaning=AckMeaning.REVIEWED), ma)
    assert handled(engine, "AcknowledgeResults") == handled(engine) == 0


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_writes_the_outstanding_tests_the_query_matches(
    bus: MessageBus, uow: UnitOfWorkFactory, tmp_path: Path, fmt: ExportFormat
) -> None:
    doctor = user(uow, "doctor")
    board = bus.query(load_board, bus.clock, doctor, POLICY)
    query = BoardQuery(flag=ANY_FLAG, sort=SortKey.DUE, include_closed=True)
    now_s = board.now_s
    expected = [r for r in bus.query(matching_rows, doctor, query, now_s) if r.status.is_open]
    assert expected
    path = tmp_path / f"board.{fmt.value}"
    command = ExportOutstanding(
        query=query, now_s=now_s, path=path, format=fmt, timezone="America/New_York"
    )
    summary = bus.handle(command, doctor)
    assert summary.rows == len(expected)
    if fmt is ExportFormat.CSV:
        with path.open(encoding="utf-8") as file:
            table = list(csv.reader(file))
        assert [row[0] for row in table[1:]] == [r.mrn for r in expected]  # in the query's order
    else:
        assert path.read_bytes().startswith(b"%PDF")
    with uow() as u:
        last = u.audit.last()
        assert last is not None
        assert last.action is AuditAction.EXPORT
        assert f"rows={summary.rows}" in last.detail
    with pytest.raises(PermissionDenied):
        bus.handle(
            ExportOutstanding(
                query=query, now_s=now_s, path=tmp_path / "no.csv", format=fmt, timezone="UTC"
            ),
            user(uow, "ma"),
        )
    assert not (tmp_path / "no.csv").exists()


def test_covering_by_user_name_and_the_sweep(
    bus: MessageBus, uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    with uow() as u:
        cover_id = create_user(
            u, clock, username="cover", display_name="Dr. Kim Cover", role=Role.CLINICIAN,
            password="violet anchor lantern quietly",
        )  # fmt: skip
        u.commit()
    with pytest.raises(NotFound, match="nobody"):
        bus.handle(SetCoveringClinician(clinician="doctor", covering="nobody"))
    with pytest.raises(ValidationError, match="not a clinician"):
        bus.handle(SetCoveringClinician(clinician="doctor", covering="ma"))
    with pytest.raises(PermissionDenied):
        bus.handle(SetCoveringClinician(clinician="doctor", covering="cover"), user(uow, "doctor"))
    bus.handle(SetCoveringClinician(clinician="doctor", covering="cover"))  # the command line
    with uow() as u:
        last = u.audit.last()
        assert last is not None
        assert (last.entity, last.user_id) == ("covering_clinician", None)

    doctor = user(uow, "doctor")
    board = bus.query(load_board, bus.clock, doctor, POLICY, audit=False)
    target = next(r for r in board.rows if r.status is Status.RECEIVED)
    with uow() as u:
        test = u.board.ordered_test(target.ordered_test_id)
        assert test is not None
        u.results.add(
            Result(
                observation_code="2823-3",
                observation_name="Potassium",
                value="7.1",
                units="mmol/L",
                abnormal_flag=AbnormalFlag.CRITICAL_HIGH,
                status=ResultStatus.FINAL,
                received_at=clock.now(),
                ordered_test_id=test.id,
                specimen_id=test.specimen_id,
            )
        )
        test.status = Status.FINAL
        test.status_changed_at = clock.now()
        u.commit()
    clock.advance(timedelta(hours=2))
    sweep = EscalateOverdueCriticals(policy=POLICY)
    [sent] = bus.handle(sweep)
    assert (sent.ordered_test_id, sent.to_user_id) == (target.ordered_test_id, cover_id)
    assert bus.handle(EscalateOverdueCriticals(policy=POLICY)) == []  # each flag once


def test_counts_and_rebuild_report_the_board(bus: MessageBus, engine: Engine) -> None:
    open_tests, tally = bus.query(overdue_tally, bus.clock, POLICY)
    assert open_tests > 0
    assert set(tally) >= {FlagReason.UNMATCHED_RESULT}
    calls: list[tuple[int, int]] = []
    outcome = bus.handle(
        RebuildBoard(policy=POLICY, progress=lambda done, total: calls.append((done, total)))
    )
    assert outcome.rebuilt
    assert calls
    assert calls[-1] == (outcome.updated, outcome.updated)
    with engine.connect() as conn:
        entries = conn.execute(select(func.count()).select_from(board_entries))
        assert int(entries.scalar_one()) == outcome.updated


def test_loading_the_board_through_the_bus_writes_no_command_record(
    bus: MessageBus, uow: UnitOfWorkFactory, engine: Engine
) -> None:
    doctor = user(uow, "doctor")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(board_entries)).scalar_one() == 0
    board = bus.query(load_board, bus.clock, doctor, POLICY, station="STATION-1")
    assert board.rows
    assert handled(engine) == 0
    # What the load commits itself outlives the query's rollback: the board table's
    # refresh (entries written, the dirty queue drained) and the audit entry of the view.
    with engine.connect() as conn:
        entries = conn.execute(select(func.count()).select_from(board_entries)).scalar_one()
        assert entries >= len(board.rows)
        assert conn.execute(select(func.count()).select_from(board_dirty)).scalar_one() == 0
    with uow() as u:
        last = u.audit.last()
        assert last is not None
        assert (last.action, last.entity, last.user_id) == (
            AuditAction.VIEW,
            "results_board",
            doctor.id,
        )
    again = bus.query(load_board, bus.clock, doctor, POLICY, station="STATION-1")
    assert again.total == board.total  # a second read is read again, not refused
    assert handled(engine) == 0
