"""Store-then-acknowledge ingest and result semantics, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hl7_world import (
    ACC_LAV,
    ACC_PST,
    MRN,
    PLACER,
    World,
    build_world,
    group,
    obx,
    order_message,
    oru,
)
from sqlalchemy import Engine

from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import PermissionDenied, ValidationError
from labdesk.domain.hl7 import MessageStatus, UnmatchedStatus
from labdesk.domain.order import OrderStatus
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.people import Role
from labdesk.domain.result import AbnormalFlag, ResultStatus
from labdesk.domain.result_chain import current_results, history_of
from labdesk.interface.worklist import (
    dismiss_unmatched,
    list_dead_letters,
    list_unmatched,
    match_unmatched,
    resolve_dead_letter,
)


@pytest.fixture
def world(engine: Engine, clock: FixedClock) -> World:
    return build_world(engine, clock)


def _results(world: World, code: str):  # type: ignore[no-untyped-def]
    with world.uow() as uow:
        rows = list(uow.results.for_ordered_test(world.tests[code]))
        uow.session.expunge_all()  # keep the loaded values after the unit of work ends
        return rows


def _status(world: World, code: str) -> Status:
    with world.uow() as uow:
        ot = uow.hl7.ordered_test(world.tests[code])
        assert ot is not None
        return ot.status


def _messages(world: World) -> dict[MessageStatus, int]:
    with world.uow() as uow:
        return uow.hl7.count_by_status()


def test_final_result_by_accession_is_stored_flagged_and_finalises_the_test(world: World) -> None:
    code, text = world.ingest(
        oru("M1", group("K", "F", obx("2823-3", "7.1", units="mmol/L", flag="H"), filler=ACC_PST))
    )
    assert (code, text) == ("AA", "1 result(s) stored")
    [result] = _results(world, "K")
    assert (result.value, result.units, result.status) == ("7.1", "mmol/L", ResultStatus.FINAL)
    assert result.abnormal_flag is AbnormalFlag.CRITICAL_HIGH  # catalog critical high 6.2
    assert result.specimen_id == world.specimen_ids[ACC_PST]
    assert result.message_id == "M1"
    assert _status(world, "K") is Status.FINAL
    assert _messages(world) == {MessageStatus.PROCESSED: 1}


def test_catalog_limits_are_skipped_when_units_differ(world: World) -> None:
    world.ingest(
        oru("M1", group("K", "F", obx("2823-3", "7.1", units="mg/dL", flag="H"), filler=ACC_PST))
    )
    assert _results(world, "K")[0].abnormal_flag is AbnormalFlag.HIGH


def test_preliminary_then_final_supersedes_and_keeps_history(world: World) -> None:
    world.ingest(
        oru("M1", group("HGB", "P", obx("718-7", "5.0", units="g/dL", status="P"), filler=ACC_LAV))
    )
    assert _status(world, "HGB") is Status.PRELIMINARY
    world.ingest(oru("M2", group("HGB", "F", obx("718-7", "12.0", units="g/dL"), filler=ACC_LAV)))
    rows = _results(world, "HGB")
    assert [r.status for r in rows] == [ResultStatus.PRELIMINARY, ResultStatus.FINAL]
    assert rows[0].abnormal_flag is AbnormalFlag.CRITICAL_LOW  # 5.0 < 6.6
    assert rows[1].supersedes_id == rows[0].id
    assert [r.id for r in current_results(rows)] == [rows[1].id]
    assert [r.id for r in history_of(rows, rows[1].id)] == [rows[0].id, rows[1].id]
    assert _status(world, "HGB") is Status.FINAL


def test_partial_result_obr25_a_is_preliminary(world: World) -> None:
    world.ingest(
        oru("M1", group("CBC", "A", obx("6690-2", "7.0", units="10*3/uL"), filler=ACC_LAV))
    )
    assert _status(world, "CBC") is Status.PRELIMINARY


def test_correction_supersedes_final_and_reopens_an_acknowledged_test(world: World) -> None:
    world.ingest(oru("M1", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)))
    with world.uow() as uow:
        ot = uow.hl7.ordered_test(world.tests["K"])
        assert ot is not None
        ot.status = Status.ACKNOWLEDGED
        uow.commit()
    world.ingest(oru("M2", group("K", "C", obx("2823-3", "3.9", status="C"), filler=ACC_PST)))
    first, corrected = _results(world, "K")
    assert corrected.status is ResultStatus.CORRECTED
    assert corrected.supersedes_id == first.id
    assert first.value == "4.1"  # history kept
    assert [r.value for r in current_results([first, corrected])] == ["3.9"]
    assert _status(world, "K") is Status.FINAL  # needs a new acknowledgement


def test_wrong_patient_retraction_withdraws_the_result(world: World) -> None:
    world.ingest(oru("M1", group("K", "F", obx("2823-3", "4.1"), filler=ACC_PST)))
    world.ingest(oru("M2", group("K", "F", obx("2823-3", "4.1", status="W"), filler=ACC_PST)))
    first, retraction = _results(world, "K")
    assert retraction.status is ResultStatus.WRONG
    assert retraction.supersedes_id == first.id
    assert current_results([first, retraction]) == []
    assert _status(world, "K") is Status.RECEIVED  # a result is awaited again


def test_not_performed_keeps_the_reason(world: World) -> None:
    code, _ = world.ingest(oru("M1", group("K", "X", filler=ACC_PST, nte="Specimen hemolysed")))
    assert code == "AA"
    [row] = _results(world, "K")
    assert row.status is ResultStatus.NOT_OBTAINED
    assert row.value == "Not performed: Specimen hemolysed"
    assert _status(world, "K") is Status.NOT_PERFORMED


def test_match_by_placer_number_and_by_spm2(world: World) -> None:
    world.ingest(oru("M1", group("HGB", "F", obx("718-7", "13.1"), placer=PLACER)))
    world.ingest(oru("M2", group("K", "F", obx("2823-3", "4.0"), placer="", spm=ACC_PST)))
    assert _status(world, "HGB") is Status.FINAL
    assert _status(world, "K") is Status.FINAL


def test_repeated_control_id_is_acknowledged_but_not_applied_twice(world: World) -> None:
    message = oru("M1", group("K", "F", obx("2823-3", "4.0"), filler=ACC_PST))
    assert world.ingest(message)[0] == "AA"
    code, text = world.ingest(message)
    assert code == "AA"
    assert "Duplicate" in text
    assert len(_results(world, "K")) == 1
    assert _messages(world) == {MessageStatus.PROCESSED: 1, MessageStatus.DUPLICATE: 1}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            oru("U1", group("K", "F", obx("2823-3", "4"), placer="NOPE", filler="2699999999")),
            "No specimen or order matches",
        ),
        (oru("U2", group("ZZZ", "F", obx("1-1", "4"), filler=ACC_PST)), "not in the catalog"),
        (oru("U3", group("TSH", "F", obx("3016-3", "4"), filler=ACC_PST)), "was not ordered"),
        (
            oru("U4", group("K", "F", obx("2823-3", "4"), filler=ACC_PST), mrn="M0000777"),
            "PID-3 MRN",
        ),
    ],
    ids=["no-specimen-or-order", "unknown-test", "not-ordered", "wrong-patient"],
)
def test_results_that_match_nothing_go_to_the_unmatched_worklist(
    world: World, message: str, reason: str
) -> None:
    code, text = world.ingest(message)
    assert code == "AA"
    assert "unmatched" in text
    with world.uow() as uow:
        [row] = list_unmatched(uow, world.clock, world.users[Role.CLINICIAN])
    assert reason in row.reason
    assert row.status is UnmatchedStatus.OPEN
    assert _results(world, "K") == []


def test_result_for_a_cancelled_order_is_held_and_can_be_matched_by_hand(world: World) -> None:
    cancel = order_message(
        "C1", ("CA", PLACER, ""), mrn=MRN, name="Testpatient^Alpha", dob="19800102"
    )
    assert world.ingest(cancel)[0] == "AA"
    assert _status(world, "K") is Status.CANCELLED
    world.ingest(oru("M1", group("K", "F", obx("2823-3", "4.0"), filler=ACC_PST)))
    doctor = world.users[Role.CLINICIAN]
    with world.uow() as uow:
        [row] = list_unmatched(uow, world.clock, doctor)
    assert "cancelled" in row.reason
    with world.uow() as uow, pytest.raises(PermissionDenied):
        match_unmatched(
            uow,
            world.clock,
            world.users[Role.MEDICAL_ASSISTANT],
            row.id,
            world.tests["K"],
            timezone="UTC",
        )
    with world.uow() as uow:
        added = match_unmatched(uow, world.clock, doctor, row.id, world.tests["K"], timezone="UTC")
    assert added == 1
    assert _status(world, "K") is Status.FINAL
    with world.uow() as uow:
        item = uow.hl7.unmatched(row.id)
        assert item is not None
        assert (item.status, item.matched_ordered_test_id) == (
            UnmatchedStatus.MATCHED,
            world.tests["K"],
        )
        assert any(e.entity == "unmatched_result" for e in uow.audit.all_in_order())


def test_manual_match_refuses_a_test_of_another_patient_and_dismiss_closes(world: World) -> None:
    world.ingest(oru("U1", group("K", "F", obx("2823-3", "4"), filler=ACC_PST), mrn="M0000777"))
    doctor = world.users[Role.CLINICIAN]
    with world.uow() as uow:
        [row] = list_unmatched(uow, world.clock, doctor)
    with world.uow() as uow, pytest.raises(ValidationError, match="another patient"):
        match_unmatched(uow, world.clock, doctor, row.id, world.tests["K"], timezone="UTC")
    with world.uow() as uow:
        dismiss_unmatched(uow, world.clock, doctor, row.id, "not our patient")
    with world.uow() as uow:
        assert list_unmatched(uow, world.clock, doctor) == []


def test_order_messages_create_patient_order_and_tests_then_cancel(world: World) -> None:
    new = order_message("O1", ("NW", "PO200", "K"), ("NW", "PO200", "2345-7"))
    code, text = world.ingest(new)
    assert code == "AA", text
    assert world.ingest(order_message("O2", ("NW", "PO200", "K")))[0] == "AA"  # resent: no-op
    with world.uow() as uow:
        patient = uow.patients.by_mrn("M0000099")
        assert patient is not None
        assert (patient.family_name, str(patient.birth_date)) == ("Newpatient", "1990-03-04")
        order = uow.orders.by_placer_number("PO200")
        assert order is not None
        assert order.patient_id == patient.id
        assert order.ordering_provider == "Doctor, Dana"
        tests = uow.orders.tests_for_orders([order.id])
        assert sorted(t.test_code for t in tests) == ["GLUF", "K"]  # LOINC 2345-7 -> GLUF
    assert world.ingest(order_message("O3", ("CA", "PO200", "")))[0] == "AA"
    with world.uow() as uow:
        order = uow.orders.by_placer_number("PO200")
        assert order is not None
        assert order.status is OrderStatus.CANCELLED
        assert {t.status for t in uow.orders.tests_for_orders([order.id])} == {Status.CANCELLED}


def test_oml_o21_order_with_tq1_stat(world: World) -> None:
    assert world.ingest(order_message("O1", ("NW", "PO300", "CBC"), kind="OML^O21"))[0] == "AA"
    with world.uow() as uow:
        order = uow.orders.by_placer_number("PO300")
        assert order is not None
        assert order.priority.value == "stat"


@pytest.mark.parametrize(
    ("message", "ack", "words"),
    [
        (order_message("E1", ("NW", "PO400", "NOTATEST")), "AE", "not in the catalog"),
        (order_message("E2", ("CA", "PO404", "")), "AE", "No patient with MRN"),
        (order_message("E3", ("NW", "PO405", "K"), dob=""), "AE", "birth date"),
        (order_message("E4", ("XO", "PO406", "K")), "AE", "not handled"),
        (
            oru("E5", group("K", "F", obx("2823-3", "4", status="Q"), filler=ACC_PST)),
            "AE",
            "OBX-11",
        ),
        (oru("E6", ["OBX|1|NM|2823-3||4||||||F"]), "AE", "segment sequence"),
        (
            oru("E7", group("K", "F", obx("2823-3", "4"))).replace("ORU^R01", "ADT^A01"),
            "AR",
            "MSH-9",
        ),
        (oru("E8", group("K", "F", obx("2823-3", "4")), version="2.2"), "AR", "MSH-12"),
        (oru("", group("K", "F", obx("2823-3", "4"))), "AR", "MSH-10"),
        ("PID|1||X\rOBR|1", "AR", "Not an HL7 message"),
    ],
    ids=[
        "unknown-test",
        "cancel-unknown",
        "no-dob",
        "unsupported-control",
        "bad-obx11",
        "obx-before-obr",
        "unsupported-type",
        "old-version",
        "no-control-id",
        "no-msh",
    ],
)
def test_bad_messages_are_refused_kept_and_change_nothing(
    world: World, message: str, ack: str, words: str
) -> None:
    code, text = world.ingest(message)
    assert code == ack
    assert words in text
    with world.uow() as uow:
        [dead] = list_dead_letters(uow, world.users[Role.ADMIN])
        stored = uow.hl7.message(dead.id)
        assert stored is not None
        assert stored.raw == message
        assert uow.orders.by_placer_number("PO400") is None
        assert uow.patients.by_mrn("M0000099") is None
    assert words in dead.error
    assert _results(world, "K") == []


def test_dead_letters_can_be_resolved(world: World) -> None:
    world.ingest("garbage")
    admin = world.users[Role.ADMIN]
    with world.uow() as uow:
        [dead] = list_dead_letters(uow, admin)
    with world.uow() as uow:
        resolve_dead_letter(uow, world.clock, admin, dead.id, "sender told")
    with world.uow() as uow:
        assert list_dead_letters(uow, admin) == []
        assert len(list_dead_letters(uow, admin, include_resolved=True)) == 1
    with world.uow() as uow, pytest.raises(PermissionDenied):
        list_dead_letters(uow, world.users[Role.CLINICIAN])


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_batches_with_any_line_end_apply_every_message(world: World, end: str) -> None:
    first = oru("B1", group("K", "F", obx("2823-3", "4.2"), filler=ACC_PST), end=end)
    second = oru("B2", group("HGB", "F", obx("718-7", "13"), filler=ACC_LAV), end=end)
    batch = f"FHS|^~\\&|LAB{end}BHS|^~\\&|LAB{end}" + first + second + f"BTS|2{end}FTS|1{end}"
    reply = world.ingestor.handle_frame(batch.encode(), "test")
    assert [o.ack_code.value for o in reply.outcomes] == ["AA", "AA"]
    assert reply.ack.startswith("BHS|")
    assert reply.ack.count("MSA|AA|") == 2
    assert _status(world, "K") is Status.FINAL
    assert _status(world, "HGB") is Status.FINAL
