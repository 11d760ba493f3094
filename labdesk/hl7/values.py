"""HL7 v2 data types LabDesk reads: DTM/DT timestamps, patient identity (PID), XCN names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hl7.datatypes import parse_datetime

from labdesk.hl7.parse import REQUIRED_FIELD_MISSING, Hl7Error, get, repetitions, segment_id


def parse_dtm(text: str, local: ZoneInfo) -> datetime | None:
    """An HL7 DTM as an aware UTC datetime; None when empty or malformed.

    A value without an offset is the clinic's local time (HL7 leaves it to the site).
    """
    value = text.strip()
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except (ValueError, TypeError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=local)
    try:
        converted: datetime = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return converted


def parse_date(text: str) -> date | None:
    """The date part of an HL7 DT/DTM (``YYYYMMDD...``); None when not a full valid date."""
    value = text.strip()
    if len(value) < 8 or not value[:8].isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


@dataclass(frozen=True)
class PatientRef:
    """Who a message is about (PID-3 MRN, PID-5 name, PID-7 birth date, PID-8 sex)."""

    mrn: str
    family_name: str
    given_name: str
    birth_date_text: str
    sex: str

    @property
    def birth_date(self) -> date | None:
        """PID-7 as a date, None when absent or malformed."""
        return parse_date(self.birth_date_text)

    @property
    def display_name(self) -> str:
        """``Family, Given`` as the message gives it."""
        return f"{self.family_name}, {self.given_name}".strip(", ")


def read_patient(message: Any) -> PatientRef:
    """The PID of ``message``; the PID-3 repetition typed MR wins, else the first.

    Raises:
        Hl7Error: (AE) when there is no PID segment or PID-3 is empty.
    """
    pid = next((s for s in message if segment_id(s) == "PID"), None)
    if pid is None:
        raise Hl7Error(
            "The message has no PID segment.", code=REQUIRED_FIELD_MISSING, location="PID"
        )
    count = repetitions(pid, 3)
    chosen = 1
    for rep in range(1, count + 1):
        if get(pid, 3, rep, 5).strip().upper() == "MR":
            chosen = rep
            break
    mrn = get(pid, 3, chosen, 1).strip()
    if not mrn:
        raise Hl7Error(
            "PID-3 (patient identifier / MRN) is empty.",
            code=REQUIRED_FIELD_MISSING,
            location="PID^1^3",
        )
    if len(mrn) > 32:
        raise Hl7Error("PID-3 MRN is longer than 32 characters.", code="102", location="PID^1^3")
    return PatientRef(
        mrn=mrn,
        family_name=get(pid, 5, 1, 1).strip()[:120],
        given_name=get(pid, 5, 1, 2).strip()[:120],
        birth_date_text=get(pid, 7).strip()[:16],
        sex=get(pid, 8).strip().upper()[:1],
    )


def person_name(segment: Any, field: int) -> str:
    """An XCN (ID^family^given) as ``Family, Given`` or its ID when unnamed."""
    family = get(segment, field, 1, 2).strip()
    given = get(segment, field, 1, 3).strip()
    if family:
        return f"{family}, {given}".strip(", ")[:120]
    return get(segment, field, 1, 1).strip()[:120]
