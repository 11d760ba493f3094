"""Overdue tracking services on SQLite and PostgreSQL, over the demo seeder's data."""

from __future__ import annotations

import csv
import os
import stat
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from labdesk.access import credentials
from labdesk.access.auth import session_of
from labdesk.adapters import orm
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.catalog.compendium import ensure_shipped_catalog
from labdesk.domain import order
from labdesk.domain.audit import AuditAction
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import NotFound, PermissionDenied, ValidationError
from labdesk.domain.overdue import FlagReason, OverduePolicy
from labdesk.domain.result import AbnormalFlag, AckMeaning, Result, ResultStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.results.acknowledge import acknowledge_results, result_detail
from labdesk.results.board import board_marker, load_board
from labdesk.results.board_dto import CRITICAL, NORMAL, BoardRow
from labdesk.results.board_query import BoardQuery
from labdesk.results.export import ExportFormat, export_outstanding
from labdesk.results.overdue import (
    escalate_overdue_criticals,
    set_covering_clinician,
    turnaround_stats,
)
from labdesk.seed.demo import STATES, seed_demo

Status = order.TestStatus  # not imported by name: pytest would try to collect Test*
POLICY = OverduePolicy()
R = FlagReason


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's five users cost seconds with production argon2 settings."""
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


def user(uow: UnitOfWorkFactory, username: str) -> SignedInUser:
    with uow() as u:
        found = u.people.user_by_username(username)
        assert found is not None
        return session_of(found, "STATION-1")


def open_statuses(uow: UnitOfWorkFactory) -> Counter[Status]:
    with uow() as u:
        counts = u.orders.count_tests_by_status()
    return Counter({s: n for s, n in counts.items() if s.is_open})


def row_with(rows: list[BoardRow], status: Status) -> BoardRow:
    return next(r for r in rows if r.status is status)


def add_result(
    uow: UnitOfWorkFactory, test_id: int, flag: AbnormalFlag, at: object, **kw: object
) -> int:
    with uow() as u:
        test = u.board.ordered_test(test_id)
        assert test is not None
        result = Result(
            observation_code="2823-3",
            observation_name="Potassium",
            value=kw.pop("value", "7.1"),  # type: ignore[arg-type]
            units="mmol/L",
            reference_range="3.5-5.1",
            abnormal_flag=flag,
            status=kw.pop("status", ResultStatus.FINAL),  # type: ignore[arg-type]
            received_at=at,  # type: ignore[arg-type]
            ordered_test_id=test_id,
            specimen_id=test.specimen_id,
            **kw,  # type: ignore[arg-type]
        )
        u.results.add(result)
        test.status = Status.FINAL
        test.status_changed_at = at  # type: ignore[assignment]
        u.commit()
        assert result.id is not None
        return result.id


# ---------------------------------------------------------------- the board


def test_board_lists_every_open_test_with_its_flags(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    with uow() as u:
        board = load_board(u, clock, user(uow, "doctor"), POLICY)

    assert Counter(r.status for r in board.rows) == open_statuses(uow)
    assert Status.ACKNOWLEDGED not in {r.status for r in board.rows}
    by_reason = Counter(reason for row in board.rows for reason in row.reasons)
    assert board.counts == dict(by_reason)
    # The demo's overdue states are flagged with their reason.
    assert by_reason[R.NOT_PICKED_UP] >= 1  # collected 30 h ago
    assert by_reason[R.NOT_RESULTED] >= 1  # collected 4 days ago, 24 h turnaround
    assert by_reason[R.TRANSIT_OVERDUE] >= 1  # picked up 6 h ago, never arrived
    assert by_reason[R.LOST] >= 1  # reported lost by the courier
    for row in board.rows:
        assert row.patient_name
        assert row.mrn
        assert row.test_name
        assert row.due_s is not None  # every open test waits for something
        assert all(f.due_s <= clock.now().timestamp() for f in row.flags)


def test_board_view_is_audited_and_needs_view_results(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        load_board(u, clock, doctor, POLICY)
    with uow() as u:
        last = u.audit.last()
        assert last is not None
        assert (last.action, last.entity, last.user_id) == (
            AuditAction.VIEW,
            "results_board",
            doctor.id,
        )
    with pytest.raises(PermissionDenied), uow() as u:
        load_board(u, clock, user(uow, "ma"), POLICY)


def test_board_can_include_recently_acknowledged(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        target = row_with(load_board(u, clock, doctor, POLICY).rows, Status.FINAL)
    with uow() as u:
        acknowledge_results(u, clock, doctor, [target.ordered_test_id], AckMeaning.REVIEWED)
    with uow() as u:
        open_only = load_board(u, clock, doctor, POLICY, audit=False)
    assert target.ordered_test_id not in {r.ordered_test_id for r in open_only.rows}
    with uow() as u:
        with_closed = load_board(
            u, clock, doctor, POLICY, BoardQuery(include_closed=True), audit=False
        )
    closed = next(r for r in with_closed.rows if r.ordered_test_id == target.ordered_test_id)
    assert closed.status is Status.ACKNOWLEDGED
    assert closed.flags == ()


def test_flags_appear_as_time_passes(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        before = load_board(u, clock, doctor, POLICY, audit=False)
    clock.advance(timedelta(days=10))
    with uow() as u:
        after = load_board(u, clock, doctor, POLICY, audit=False)
    assert sum(after.counts.values()) > sum(before.counts.values())
    assert all(row.flags for row in after.rows)


def test_change_marker_moves_with_results_and_acknowledgements(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        marker = board_marker(u)
    with uow() as u:
        assert board_marker(u) == marker
    with uow() as u:
        target = row_with(load_board(u, clock, doctor, POLICY).rows, Status.RECEIVED)
    add_result(uow, target.ordered_test_id, AbnormalFlag.NORMAL, clock.now())
    with uow() as u:
        after_result = board_marker(u)
    assert after_result != marker
    with uow() as u:
        acknowledge_results(u, clock, doctor, [target.ordered_test_id], AckMeaning.REVIEWED)
    with uow() as u:
        assert board_marker(u) != after_result


# ---------------------------------------------------------------- criticals and escalation


def test_critical_escalates_once_to_the_covering_clinician(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor, admin = user(uow, "doctor"), user(uow, "admin")
    with uow() as u:
        from labdesk.access.auth import create_user
        from labdesk.domain.people import Role

        cover_id = create_user(
            u, clock, username="cover", display_name="Dr. Kim Cover", role=Role.CLINICIAN,
            password="violet anchor lantern quietly",
        )  # fmt: skip
        u.commit()
    with uow() as u:
        set_covering_clinician(u, clock, admin, doctor.id, cover_id)
    with uow() as u:
        target = row_with(load_board(u, clock, doctor, POLICY).rows, Status.RECEIVED)
    add_result(uow, target.ordered_test_id, AbnormalFlag.CRITICAL_HIGH, clock.now())

    with uow() as u:
        assert escalate_overdue_criticals(u, clock, POLICY) == []  # not yet due
    clock.advance(timedelta(minutes=61))
    with uow() as u:
        board = load_board(u, clock, doctor, POLICY, audit=False)
    row = next(r for r in board.rows if r.ordered_test_id == target.ordered_test_id)
    assert row.severity == CRITICAL
    assert row.reasons == (R.CRITICAL_NOT_ACKNOWLEDGED,)

    with uow() as u:
        sent = escalate_overdue_criticals(u, clock, POLICY)
    assert [(s.ordered_test_id, s.to_user_id, s.to_name) for s in sent] == [
        (target.ordered_test_id, cover_id, "Dr. Kim Cover")
    ]
    with uow() as u:
        assert escalate_overdue_criticals(u, clock, POLICY) == []  # idempotent
    with uow() as u:
        row = next(
            r
            for r in load_board(u, clock, doctor, POLICY, audit=False).rows
            if r.ordered_test_id == target.ordered_test_id
        )
    assert (row.escalated_to_id, row.escalated_to) == (cover_id, "Dr. Kim Cover")


def test_escalation_without_cover_goes_to_the_default_or_nobody(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        rows = load_board(u, clock, doctor, POLICY).rows
    first, second = [r for r in rows if r.status is Status.RECEIVED][:2]
    add_result(uow, first.ordered_test_id, AbnormalFlag.CRITICAL_LOW, clock.now())
    clock.advance(timedelta(hours=2))
    with uow() as u:
        [sent] = escalate_overdue_criticals(u, clock, POLICY)
    assert sent.to_user_id is None  # recorded all the same: the board shows nobody got it
    add_result(uow, second.ordered_test_id, AbnormalFlag.CRITICAL, clock.now())
    clock.advance(timedelta(hours=2))
    with uow() as u:
        [sent] = escalate_overdue_criticals(u, clock, POLICY, default_covering="admin")
    assert sent.to_name == "Alex Admin"


def test_covering_clinician_rules(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    doctor, admin, ma = user(uow, "doctor"), user(uow, "admin"), user(uow, "ma")
    with pytest.raises(PermissionDenied), uow() as u:
        set_covering_clinician(u, clock, doctor, doctor.id, admin.id)
    with pytest.raises(ValidationError, match="themselves"), uow() as u:
        set_covering_clinician(u, clock, admin, doctor.id, doctor.id)
    with pytest.raises(ValidationError, match="not a clinician"), uow() as u:
        set_covering_clinician(u, clock, admin, doctor.id, ma.id)
    with pytest.raises(NotFound), uow() as u:
        set_covering_clinician(u, clock, admin, doctor.id, 99_999)


# ---------------------------------------------------------------- acknowledgement


def test_acknowledge_one_result_signs_and_closes_it(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        target = row_with(load_board(u, clock, doctor, POLICY).rows, Status.FINAL)
    with uow() as u:
        outcome = acknowledge_results(
            u, clock, doctor, [target.ordered_test_id], AckMeaning.PATIENT_NOTIFIED, " Called. "
        )
    assert outcome.acknowledged == [target.ordered_test_id]
    assert (outcome.signed_by, outcome.signed_at, outcome.meaning) == (
        "Dr. Sam Patel",
        clock.now(),
        AckMeaning.PATIENT_NOTIFIED,
    )
    with uow() as u:
        detail = result_detail(u, clock, doctor, POLICY, target.ordered_test_id)
    assert detail.row.status is Status.ACKNOWLEDGED
    [signature] = detail.signatures
    assert (signature.printed_name, signature.meaning, signature.note) == (
        "Dr. Sam Patel",
        AckMeaning.PATIENT_NOTIFIED,
        "Called.",
    )
    with uow() as u:
        again = acknowledge_results(u, clock, doctor, [target.ordered_test_id], AckMeaning.REVIEWED)
    assert (again.acknowledged, again.already_closed) == ([], [target.ordered_test_id])
    with uow() as u:
        entries = [e.entity_id for e in u.audit.all_in_order() if e.entity == "acknowledgement"]
    assert entries == [str(target.ordered_test_id)]


def test_bulk_acknowledges_normals_and_refuses_abnormals(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        rows = load_board(u, clock, doctor, POLICY).rows
    normals = [r for r in rows if r.status is Status.FINAL and r.severity == NORMAL]
    assert len(normals) >= 2
    assert all(r.bulk_acknowledgeable for r in normals)
    received = [r for r in rows if r.status is Status.RECEIVED]
    add_result(uow, received[0].ordered_test_id, AbnormalFlag.HIGH, clock.now())
    batch = [normals[0].ordered_test_id, received[0].ordered_test_id]
    with pytest.raises(ValidationError, match="abnormal, critical or not final"), uow() as u:
        acknowledge_results(u, clock, doctor, batch, AckMeaning.REVIEWED)
    add_result(uow, received[1].ordered_test_id, AbnormalFlag.CRITICAL_HIGH, clock.now())
    with pytest.raises(ValidationError, match="abnormal"), uow() as u:  # a critical is refused too
        acknowledge_results(
            u,
            clock,
            doctor,
            [normals[0].ordered_test_id, received[1].ordered_test_id],
            AckMeaning.REVIEWED,
        )
    assert open_statuses(uow)[Status.FINAL] >= len(normals)  # nothing was signed
    ids = [r.ordered_test_id for r in normals]
    with uow() as u:
        outcome = acknowledge_results(u, clock, doctor, ids, AckMeaning.REVIEWED)
    assert sorted(outcome.acknowledged) == sorted(ids)


def test_acknowledge_refuses_what_has_no_result(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        rows = load_board(u, clock, doctor, POLICY).rows
    received = row_with(rows, Status.RECEIVED)
    with pytest.raises(ValidationError, match="no result to acknowledge"), uow() as u:
        acknowledge_results(u, clock, doctor, [received.ordered_test_id], AckMeaning.REVIEWED)
    with pytest.raises(ValidationError, match="No result is selected"), uow() as u:
        acknowledge_results(u, clock, doctor, [], AckMeaning.REVIEWED)
    with pytest.raises(ValidationError, match="characters"), uow() as u:
        acknowledge_results(
            u, clock, doctor, [received.ordered_test_id], AckMeaning.REVIEWED, "x" * 401
        )
    with pytest.raises(NotFound), uow() as u:
        acknowledge_results(u, clock, doctor, [99_999], AckMeaning.REVIEWED)
    with pytest.raises(PermissionDenied), uow() as u:  # administrators do not sign results
        acknowledge_results(
            u, clock, user(uow, "admin"), [received.ordered_test_id], AckMeaning.REVIEWED
        )


def test_reviewing_a_critical_preliminary_clears_the_critical_flag_only(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        target = row_with(load_board(u, clock, doctor, POLICY).rows, Status.RECEIVED)
    add_result(uow, target.ordered_test_id, AbnormalFlag.CRITICAL_HIGH, clock.now(),
               status=ResultStatus.PRELIMINARY)  # fmt: skip
    with uow() as u:
        test = u.board.ordered_test(target.ordered_test_id)
        assert test is not None
        test.status = Status.PRELIMINARY
        u.commit()
    clock.advance(timedelta(hours=2))
    with uow() as u:
        acknowledge_results(
            u, clock, doctor, [target.ordered_test_id], AckMeaning.ACTION_TAKEN, "Sent to ED."
        )
    with uow() as u:
        row = result_detail(u, clock, doctor, POLICY, target.ordered_test_id).row
    assert row.status is Status.PRELIMINARY  # still waits for the final result
    assert R.CRITICAL_NOT_ACKNOWLEDGED not in row.reasons


def test_detail_shows_values_corrections_and_custody(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        target = row_with(load_board(u, clock, doctor, POLICY).rows, Status.RECEIVED)
    first = add_result(uow, target.ordered_test_id, AbnormalFlag.HIGH, clock.now())
    add_result(uow, target.ordered_test_id, AbnormalFlag.NORMAL, clock.now(), value="4.4",
               status=ResultStatus.CORRECTED, supersedes_id=first)  # fmt: skip
    with uow() as u:
        detail = result_detail(u, clock, doctor, POLICY, target.ordered_test_id)
    assert [(r.value, r.superseded, r.units) for r in detail.results] == [
        ("7.1", True, "mmol/L"),
        ("4.4", False, "mmol/L"),
    ]
    assert detail.row.severity == NORMAL  # the correction replaced the abnormal value
    assert [c.kind for c in detail.custody][:2] == ["collected", "labelled"]
    assert all(c.actor for c in detail.custody)
    with uow() as u:
        last = u.audit.last()
        assert last is not None
        assert (last.action, last.entity) == (AuditAction.VIEW, "ordered_test")
    with pytest.raises(NotFound), uow() as u:
        result_detail(u, clock, doctor, POLICY, 99_999)


# ---------------------------------------------------------------- export and figures


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_outstanding_list(
    uow: UnitOfWorkFactory, clock: FixedClock, tmp_path: Path, fmt: ExportFormat
) -> None:
    doctor = user(uow, "doctor")
    with uow() as u:
        board = load_board(u, clock, doctor, POLICY)
    path = tmp_path / f"out.{fmt.value}"
    with uow() as u:
        summary = export_outstanding(
            u, clock, doctor, board.rows, path, fmt, timezone="America/New_York"
        )
    assert summary.rows == len(board.rows)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    if fmt is ExportFormat.CSV:
        with path.open(encoding="utf-8") as file:
            table = list(csv.reader(file))
        assert table[0][:3] == ["MRN", "Patient", "Test"]
        assert len(table) == len(board.rows) + 1
        assert "Date of birth" not in table[0]
        assert "DOB" not in table[0]
    else:
        assert path.read_bytes().startswith(b"%PDF")
    with uow() as u:
        last = u.audit.last()
        assert last is not None
        assert last.action is AuditAction.EXPORT
        assert f"rows={summary.rows}" in last.detail
    with pytest.raises(PermissionDenied), uow() as u:
        export_outstanding(
            u, clock, user(uow, "ma"), board.rows, path, fmt, timezone="America/New_York"
        )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_export_onto_something_that_is_not_a_file_is_refused(
    uow: UnitOfWorkFactory, clock: FixedClock, tmp_path: Path
) -> None:
    # The export is renamed into place; renamed over a device it would replace the device.
    doctor = user(uow, "doctor")
    with uow() as u:
        board = load_board(u, clock, doctor, POLICY)
    pipe = tmp_path / "not-a-file"
    os.mkfifo(pipe)
    with pytest.raises(ValidationError, match="not a file") as info, uow() as u:
        export_outstanding(u, clock, doctor, board.rows, pipe, ExportFormat.CSV, timezone="UTC")
    assert "file name" in info.value.hint
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert not list(tmp_path.glob(".not-a-file*"))  # no partial export left behind


def test_turnaround_median_and_p90_per_test(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    with uow() as u:
        stats = turnaround_stats(u, clock, user(uow, "doctor"))
    assert stats
    for item in stats:
        assert item.samples >= 1
        assert 0 < item.median_min <= item.p90_min
        assert item.median_min == pytest.approx(180, abs=1)  # demo: results 3 h after draw
        assert item.target_min > 0


def test_unmatched_results_are_counted(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    with uow() as u:
        u.results.add(
            Result(
                observation_code="2345-7",
                observation_name="Glucose",
                value="5.5",
                status=ResultStatus.FINAL,
                received_at=clock.now(),
            )
        )
        u.commit()
        unmatched_rows = u.session.execute(
            select(orm.results.c.id).where(orm.results.c.ordered_test_id.is_(None))
        ).all()
    assert len(unmatched_rows) == 1
    with uow() as u:
        board = load_board(u, clock, user(uow, "doctor"), POLICY)
    assert board.unmatched_results >= 1
    assert board.counts[R.UNMATCHED_RESULT] == board.unmatched_results
