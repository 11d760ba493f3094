"""HL7 parsing and result rules without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import hl7
import pytest

from labdesk.domain.hl7 import AckCode
from labdesk.domain.order import Priority
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.result import AbnormalFlag as F
from labdesk.domain.result import Result, ResultStatus
from labdesk.domain.result_chain import current_results
from labdesk.hl7.ack import build_ack, escape
from labdesk.hl7.outbound_build import (
    CollectionSnapshot,
    OrderedTestInfo,
    PatientInfo,
    SpecimenInfo,
    build_collection_message,
)
from labdesk.hl7.parse import Hl7Error, check_header, get, parse_message, read_header, split_frame
from labdesk.hl7.semantics import final_flag, lab_flag, read_groups, status_after
from labdesk.hl7.values import parse_dtm, read_patient

UTCZ = ZoneInfo("UTC")
NY = ZoneInfo("America/New_York")
MSG = (
    "MSH|^~\\&|L|F|LD|C|20260302||ORU^R01|C1|P|2.4\r"
    "PID|||X1^^^A^PI~M1^^^B^MR||Doe^Jo||19800102|F\r"
    "OBR|1|P1|A1|K^Potassium^L|||20260302080000-0500||||||||||||||||||F\r"
    "OBX|1|SN|2823-3^K^LN||>^6.5|mmol/L|3.5-5.1|HH~H|||F\r"
    "OBX|2|FT|X^Note^L||line one\\.br\\line two||||||F\r"
    "OBX|3|CWE|Y^Org^L||1^Isolated^L||||||C\r"
    "SPM|1|A2&CLINIC||SER\r"
)


def test_split_frame_handles_batches_and_line_ends() -> None:
    one = MSG.replace("\r", "\n")
    assert split_frame(one) == [MSG]
    batch = "BHS|^~\\&|L\r\n" + MSG.replace("\r", "\r\n") + MSG.replace("C1", "C2") + "BTS|2\r\n"
    parts = split_frame(batch)
    assert [read_header(parse_message(p)).control_id for p in parts] == ["C1", "C2"]
    with pytest.raises(Hl7Error) as err:
        split_frame("hello")
    assert err.value.ack is AckCode.REJECT


def test_get_never_raises_and_keeps_unreadable_escapes() -> None:
    message = parse_message("MSH|^~\\&|A\rZZZ|a^b&c|\\.inx\\|r1~r2\r")
    seg = message[1]
    assert (get(seg, 1, 1, 2, 2), get(seg, 1, 1, 5), get(seg, 9)) == ("c", "", "")
    assert get(seg, 2) == "\\.inx\\"  # python-hl7 cannot unescape it: kept as sent
    assert (get(seg, 3, 2), get(seg, 3, 3)) == ("r2", "")


def test_header_checks_refuse_with_ar() -> None:
    header = read_header(parse_message(MSG.replace("ORU^R01", "ADT^A01")))
    with pytest.raises(Hl7Error, match="MSH-9") as err:
        check_header(header)
    assert err.value.ack is AckCode.REJECT
    with pytest.raises(Hl7Error, match="encoding characters"):
        parse_message("MSH|^^^^|x")


def test_groups_values_flags_and_patient() -> None:
    message = parse_message(MSG)
    patient = read_patient(message)
    assert (patient.mrn, patient.family_name, patient.birth_date) == ("M1", "Doe", date(1980, 1, 2))
    [g] = read_groups(message, UTCZ)
    assert (g.placer_order_number, g.filler_order_number, g.specimen_ids) == ("P1", "A1", ("A2",))
    assert g.collected_at == datetime(2026, 3, 2, 13, tzinfo=UTC)
    sn, ft, cwe = g.observations
    assert (sn.value, sn.numeric, sn.lab_flag) == (">6.5", 6.5, F.CRITICAL_HIGH)
    assert ft.value == "line one\nline two"
    assert (cwe.value, cwe.status) == ("Isolated", ResultStatus.CORRECTED)


def test_dtm_without_offset_is_clinic_local_time() -> None:
    assert parse_dtm("20260710120000", NY) == datetime(2026, 7, 10, 16, tzinfo=UTC)
    assert parse_dtm("2026071012-0000", NY) == datetime(2026, 7, 10, 12, tzinfo=UTC)
    assert parse_dtm("garbage", NY) is None


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(["H", "POS"], F.HIGH), (["LL"], F.CRITICAL_LOW), (["<"], F.LOW), (["ZZ"], None), ([], None)],
)
def test_lab_flag_takes_the_most_severe_known_flag(flags: list[str], expected: F | None) -> None:
    assert lab_flag(flags) is expected


def test_catalog_limits_raise_a_flag_to_critical_exclusively() -> None:
    assert final_flag(F.HIGH, 6.3, 2.8, 6.2) is F.CRITICAL_HIGH
    assert final_flag(F.HIGH, 6.2, 2.8, 6.2) is F.HIGH
    assert final_flag(None, 2.7, 2.8, 6.2) is F.CRITICAL_LOW
    assert final_flag(F.NORMAL, None, 2.8, 6.2) is F.NORMAL


@pytest.mark.parametrize(
    ("obr25", "current", "expected"),
    [
        ("F", [ResultStatus.FINAL], Status.FINAL),
        ("C", [ResultStatus.CORRECTED], Status.FINAL),
        ("P", [ResultStatus.FINAL], Status.PRELIMINARY),
        ("A", [ResultStatus.FINAL], Status.PRELIMINARY),
        ("F", [ResultStatus.PRELIMINARY, ResultStatus.FINAL], Status.PRELIMINARY),
        ("X", [], Status.NOT_PERFORMED),
        ("F", [ResultStatus.NOT_OBTAINED], Status.NOT_PERFORMED),
        ("F", [], Status.RECEIVED),
    ],
)
def test_status_after(obr25: str, current: list[ResultStatus], expected: Status) -> None:
    assert status_after(obr25, current) is expected


def test_current_results_drop_superseded_and_retractions() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def r(rid: int, status: ResultStatus, supersedes: int | None = None) -> Result:
        return Result(
            observation_code="K",
            observation_name="K",
            value="1",
            status=status,
            received_at=at,
            id=rid,
            supersedes_id=supersedes,
        )

    rows = [
        r(1, ResultStatus.PRELIMINARY),
        r(2, ResultStatus.FINAL, 1),
        r(3, ResultStatus.WRONG, 2),
    ]
    assert current_results(rows) == []
    assert [x.id for x in current_results(rows[:2])] == [2]


def test_ack_echoes_the_control_id_and_escapes_the_reason() -> None:
    header = read_header(parse_message(MSG))
    ack = build_ack(
        header,
        AckCode.ERROR,
        now=datetime(2026, 3, 2, tzinfo=UTC),
        ack_id="LD9",
        text="bad | value ^ here",
        error_code="102",
    )
    parsed = hl7.parse(ack)
    assert str(parsed.segment("MSA")[1]) == "AE"
    assert str(parsed.segment("MSA")[2]) == "C1"
    assert parsed.segment("MSA").extract_field(1, 3) == "bad | value ^ here"
    assert escape("a\rb") == "a b"


def test_outbound_message_escapes_patient_data() -> None:
    at = datetime(2026, 3, 2, 14, tzinfo=UTC)
    spec = SpecimenInfo("2600000018", "serum", "SST", "Gold", at, 7, "M|A", 4.0)
    snap = CollectionSnapshot(
        "LDO1",
        at,
        "CLINIC",
        PatientInfo("M1", "O'Brien^x", "Al", date(1970, 1, 1), "M"),
        (OrderedTestInfo("PO1", "RQ", Priority.ROUTINE, "Dr", at, "TSH", "3016-3", "TSH", spec),),
    )
    message = hl7.parse(build_collection_message(snap))
    assert message.segment("PID").extract_field(1, 5, 1, 1) == "O'Brien^x"
    assert message.segment("SPM").extract_field(1, 4, 1, 1) == "SER"
    assert message.segment("SPM").extract_field(1, 12, 1, 1) == "4"
