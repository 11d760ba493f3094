"""What a signature would cover, read before the signature dialog opens (issue 11 item 12).

``signing_preview`` lists each test's patient, MRN and current values, and refuses at once
what ``acknowledge_results`` would refuse after signing: both apply ``refusal`` (and
``bulk_refusal`` for several tests), so the rule lives once.
"""

from __future__ import annotations

from datetime import timedelta

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
from labdesk.domain.order import OrderedTest
from labdesk.domain.result import AbnormalFlag, AckMeaning, Result, ResultStatus
from labdesk.kernel.dto import SignedInUser
from labdesk.results.ack_dto import AckRefusal
from labdesk.results.acknowledge import (
    acknowledge_results,
    bulk_refusal,
    refusal,
    signing_preview,
)
from labdesk.seed.demo import STATES, seed_demo

Status = order.TestStatus  # not imported by name: pytest would try to collect Test*


@pytest.fixture
def uow(engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> UnitOfWorkFactory:
    """Two demo patients in every state of the loop (cheap hashes for the five users)."""
    monkeypatch.setattr(
        credentials, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
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


def ids_in(uow: UnitOfWorkFactory, status: Status) -> list[int]:
    with uow() as u:
        found = u.session.scalars(select(OrderedTest).where(orm.ordered_tests.c.status == status))
        return sorted(t.id for t in found if t.id is not None)


def add_result(
    uow: UnitOfWorkFactory, clock: FixedClock, test_id: int, value: str, flag: AbnormalFlag
) -> int:
    with uow() as u:
        test = u.board.ordered_test(test_id)
        assert test is not None
        result = Result(
            observation_code="2823-3",
            observation_name="Potassium",
            value=value,
            units="mmol/L",
            reference_range="3.5-5.1",
            abnormal_flag=flag,
            status=ResultStatus.FINAL,
            received_at=clock.now() - timedelta(minutes=1),
            ordered_test_id=test_id,
            specimen_id=test.specimen_id,
        )
        u.results.add(result)
        test.status = Status.FINAL
        u.commit()
        assert result.id is not None
        return result.id


def test_preview_lists_patient_test_and_current_values(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor = user(uow, "doctor")
    [target, *_] = ids_in(uow, Status.RECEIVED)
    first = add_result(uow, clock, target, "7.4", AbnormalFlag.CRITICAL_HIGH)
    with uow() as u:  # a correction replaces the first value: only the new one is signed
        old = u.session.get(Result, first)
        assert old is not None
        u.results.add(
            Result(
                observation_code="2823-3",
                observation_name="Potassium",
                value="5.9",
                units="mmol/L",
                reference_range="3.5-5.1",
                abnormal_flag=AbnormalFlag.HIGH,
                status=ResultStatus.CORRECTED,
                received_at=clock.now(),
                ordered_test_id=target,
                specimen_id=old.specimen_id,
                supersedes_id=first,
            )
        )
        test = u.board.ordered_test(target)
        assert test is not None
        order_row = u.orders.get(test.order_id)
        assert order_row is not None
        patient = u.patients.get(order_row.patient_id)
        assert patient is not None
        definition = u.catalog.get_test(test.test_code)
        assert definition is not None
        u.commit()
    with uow() as u:
        preview = signing_preview(u, clock, doctor, [target])
    assert preview.can_sign
    assert (preview.refused, preview.already_closed) == ([], [])
    [line] = preview.to_sign
    assert (line.ordered_test_id, line.patient_name, line.mrn, line.test_name) == (
        target,
        f"{patient.family_name}, {patient.given_name}",
        patient.mrn,
        definition.name,
    )
    [value] = line.values
    assert (value.value, value.units, value.abnormal_flag) == ("5.9", "mmol/L", AbnormalFlag.HIGH)
    assert value.abnormal
    assert not value.critical
    with uow() as u:  # seeing the values is a patient access, recorded as such
        seen = [
            e.entity_id
            for e in u.audit.all_in_order()
            if e.action is AuditAction.VIEW and e.detail == "results sign-off"
        ]
    assert seen == [str(patient.id)]


def test_no_result_is_refused_by_the_preview_and_by_signing(
    uow: UnitOfWorkFactory, clock: FixedClock
) -> None:
    doctor = user(uow, "doctor")
    [waiting, *_] = ids_in(uow, Status.RECEIVED)
    [final, *_] = ids_in(uow, Status.FINAL)
    with uow() as u:
        preview = signing_preview(u, clock, doctor, [waiting])
    assert not preview.can_sign
    assert [(line.ordered_test_id, line.refusal) for line in preview.refused] == [
        (waiting, AckRefusal.NO_RESULT)
    ]
    with uow() as u:
        mixed = signing_preview(u, clock, doctor, [final, waiting])
    assert not mixed.can_sign
    assert [line.ordered_test_id for line in mixed.to_sign] == [final]
    assert [line.ordered_test_id for line in mixed.refused] == [waiting]
    with pytest.raises(ValidationError, match="no result to acknowledge"), uow() as u:
        acknowledge_results(u, clock, doctor, [waiting], AckMeaning.REVIEWED)


def test_closed_tests_are_skipped_not_refused(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    doctor = user(uow, "doctor")
    finals = ids_in(uow, Status.FINAL)
    assert len(finals) >= 2
    with uow() as u:
        acknowledge_results(u, clock, doctor, finals[:1], AckMeaning.REVIEWED)
    with uow() as u:
        preview = signing_preview(u, clock, doctor, finals[:2])
    assert preview.can_sign
    assert [line.ordered_test_id for line in preview.already_closed] == finals[:1]
    assert [line.ordered_test_id for line in preview.to_sign] == finals[1:2]


def test_several_at_once_only_normal_finals(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    doctor = user(uow, "doctor")
    finals = ids_in(uow, Status.FINAL)
    [received, *_] = ids_in(uow, Status.RECEIVED)
    add_result(uow, clock, received, "7.4", AbnormalFlag.CRITICAL_HIGH)
    with uow() as u:
        alone = signing_preview(u, clock, doctor, [received])
    assert alone.can_sign  # a critical result is signed on its own
    assert alone.to_sign[0].values[0].critical
    with uow() as u:
        together = signing_preview(u, clock, doctor, [*finals, received])
    assert [(line.ordered_test_id, line.refusal) for line in together.refused] == [
        (received, AckRefusal.NOT_NORMAL_FINAL)
    ]
    with pytest.raises(ValidationError, match="abnormal, critical or not final"), uow() as u:
        acknowledge_results(u, clock, doctor, [*finals, received], AckMeaning.REVIEWED)


@pytest.mark.parametrize(
    ("status", "alone", "several"),
    [
        (Status.ORDERED, AckRefusal.NO_RESULT, AckRefusal.NO_RESULT),
        (Status.COLLECTED, AckRefusal.NO_RESULT, AckRefusal.NO_RESULT),
        (Status.IN_TRANSIT, AckRefusal.NO_RESULT, AckRefusal.NO_RESULT),
        (Status.RECEIVED, AckRefusal.NO_RESULT, AckRefusal.NO_RESULT),
        (Status.LOST, None, AckRefusal.NOT_NORMAL_FINAL),  # closed without a recollection
        (Status.PRELIMINARY, None, AckRefusal.NOT_NORMAL_FINAL),
        (Status.FINAL, None, None),
        (Status.NOT_PERFORMED, None, AckRefusal.NOT_NORMAL_FINAL),
        (Status.REJECTED, None, AckRefusal.NOT_NORMAL_FINAL),
        (Status.ACKNOWLEDGED, None, None),  # closed: skipped, not refused
        (Status.CANCELLED, None, None),
    ],
    ids=lambda v: str(v),
)
def test_refusal_rule(status: Status, alone: AckRefusal | None, several: AckRefusal | None) -> None:
    assert refusal(status) is alone
    assert bulk_refusal(status, []) is several


def test_preview_checks_permission_and_ids(uow: UnitOfWorkFactory, clock: FixedClock) -> None:
    doctor = user(uow, "doctor")
    with pytest.raises(PermissionDenied), uow() as u:
        signing_preview(u, clock, user(uow, "admin"), [1])
    with pytest.raises(ValidationError, match="No result is selected"), uow() as u:
        signing_preview(u, clock, doctor, [])
    with pytest.raises(NotFound), uow() as u:
        signing_preview(u, clock, doctor, [99_999])
