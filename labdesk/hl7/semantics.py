"""What an ORU^R01 says: OBR groups, their observations, statuses and flags (pure).

Result status (OBR-25, table 0123) and observation status (OBX-11, table 0085) decide the
ordered test's status; OBX-8 (table 0078) and the catalog's critical limits decide the flag.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from labdesk.domain.order import TestStatus
from labdesk.domain.result import AbnormalFlag, ResultStatus
from labdesk.hl7.parse import (
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE,
    TABLE_VALUE_NOT_FOUND,
    Hl7Error,
    get,
    repetitions,
    segment_id,
)
from labdesk.hl7.values import parse_dtm

# OBX-11 (table 0085) -> stored status; O (order detail only) carries no value.
_OBX_STATUS = {
    "P": ResultStatus.PRELIMINARY,
    "R": ResultStatus.PRELIMINARY,
    "I": ResultStatus.PRELIMINARY,
    "S": ResultStatus.PRELIMINARY,
    "F": ResultStatus.FINAL,
    "U": ResultStatus.FINAL,
    "C": ResultStatus.CORRECTED,
    "W": ResultStatus.WRONG,
    "D": ResultStatus.WRONG,
    "X": ResultStatus.NOT_OBTAINED,
    "N": ResultStatus.NOT_OBTAINED,
}
# OBR-25 (table 0123) values that mean "more is coming".
OPEN_ORDER_STATUSES = frozenset({"O", "I", "S", "A", "P", "R"})
_OBR_DEFAULT_OBX = {"F": "F", "C": "C", "P": "P", "A": "P", "R": "P", "I": "P", "S": "P"}
_FLAG_SEVERITY = {
    AbnormalFlag.NORMAL: 0,
    AbnormalFlag.LOW: 1,
    AbnormalFlag.HIGH: 1,
    AbnormalFlag.ABNORMAL: 1,
    AbnormalFlag.CRITICAL_LOW: 2,
    AbnormalFlag.CRITICAL_HIGH: 2,
    AbnormalFlag.CRITICAL: 2,
}
# OBX-8 values beyond LabDesk's subset, folded onto it ("<"/">": off-scale low/high).
_FLAG_ALIASES = {"<": "L", ">": "H", "POS": "A", "DET": "A", "R": "A", "NEG": "N"}
_TEXT_TYPES = frozenset({"TX", "FT", "ST"})


@dataclass(frozen=True)
class Observation:
    """One OBX."""

    code: str
    name: str
    sub_id: str
    value_type: str
    value: str
    numeric: float | None
    units: str
    reference_range: str
    lab_flag: AbnormalFlag | None
    status: ResultStatus
    observed_at: datetime | None


@dataclass(frozen=True)
class ResultGroup:
    """One OBR with what belongs to it (OBX, SPM, NTE)."""

    index: int
    placer_order_number: str
    filler_order_number: str
    specimen_ids: tuple[str, ...]
    test_code: str
    test_name: str
    alt_test_code: str
    result_status: str
    collected_at: datetime | None
    observations: tuple[Observation, ...]
    notes: tuple[str, ...]
    reject_reason: str

    @property
    def not_performed(self) -> bool:
        """OBR-25 X: the test was cancelled or could not be done."""
        return self.result_status == "X"

    @property
    def not_performed_reason(self) -> str:
        """Why (NTE under the OBR, else SPM-21), as far as the lab said."""
        return "; ".join(self.notes) or self.reject_reason or "no reason given"


def read_groups(message: Any, local: ZoneInfo) -> list[ResultGroup]:
    """The OBR groups of an ORU^R01, in order.

    Raises:
        Hl7Error: (AE) for an OBX before any OBR, an OBR without OBR-4, no OBR at all,
            or an observation status LabDesk does not know.
    """
    groups: list[dict[str, Any]] = []
    placer_from_orc = ""
    for segment in message:
        name = segment_id(segment)
        if name == "ORC":
            placer_from_orc = get(segment, 2).strip()
        elif name == "OBR":
            groups.append(
                {"obr": segment, "orc_placer": placer_from_orc, "obx": [], "spm": [], "nte": []}
            )
        elif name in {"OBX", "SPM", "NTE"}:
            if not groups:
                if name == "NTE":
                    continue  # a note on the patient or the message, not on a result
                raise Hl7Error(
                    f"{name} before any OBR: segment sequence error.", code=SEGMENT_SEQUENCE
                )
            key = name.lower()
            if name == "NTE" and groups[-1]["obx"]:
                continue  # comment on one observation: kept in the raw message only
            groups[-1][key].append(segment)
    if not groups:
        raise Hl7Error("The result message has no OBR segment.", code=SEGMENT_SEQUENCE)
    return [_group(i, g, local) for i, g in enumerate(groups)]


def _group(index: int, g: dict[str, Any], local: ZoneInfo) -> ResultGroup:
    obr = g["obr"]
    code = get(obr, 4, 1, 1).strip()
    if not code:
        raise Hl7Error(
            f"OBR-4 (universal service ID) is empty in OBR group {index + 1}.",
            code=REQUIRED_FIELD_MISSING,
            location=f"OBR^{index + 1}^4",
        )
    status = get(obr, 25).strip().upper()
    specimen_ids: list[str] = []
    reject = ""
    for spm in g["spm"]:
        for value in (get(spm, 2, 1, 1, 1), get(spm, 2, 1, 2, 1)):
            if value.strip() and value.strip() not in specimen_ids:
                specimen_ids.append(value.strip())
        reject = reject or get(spm, 21, 1, 2).strip() or get(spm, 21, 1, 1).strip()
    return ResultGroup(
        index=index,
        placer_order_number=(get(obr, 2).strip() or g["orc_placer"])[:40],
        filler_order_number=get(obr, 3).strip()[:40],
        specimen_ids=tuple(s[:40] for s in specimen_ids),
        test_code=code[:32],
        test_name=get(obr, 4, 1, 2).strip()[:160],
        alt_test_code=get(obr, 4, 1, 4).strip()[:32],
        result_status=status,
        collected_at=parse_dtm(get(obr, 7), local),
        observations=tuple(_observation(obx, status, local) for obx in g["obx"]),
        notes=tuple(t for t in (get(n, 3).strip() for n in g["nte"]) if t),
        reject_reason=reject[:200],
    )


def _observation(obx: Any, obr_status: str, local: ZoneInfo) -> Observation:
    raw_status = get(obx, 11).strip().upper() or _OBR_DEFAULT_OBX.get(obr_status, "")
    if not raw_status:
        raise Hl7Error(
            "OBX-11 (observation result status) is empty and OBR-25 does not say.",
            code=REQUIRED_FIELD_MISSING,
            location="OBX^^11",
        )
    status = _OBX_STATUS.get(raw_status)
    if status is None:
        raise Hl7Error(
            f"OBX-11 value '{raw_status[:5]}' is not an observation result status.",
            code=TABLE_VALUE_NOT_FOUND,
            location="OBX^^11",
        )
    code = get(obx, 3, 1, 1).strip()
    if not code:
        raise Hl7Error(
            "OBX-3 (observation identifier) is empty.",
            code=REQUIRED_FIELD_MISSING,
            location="OBX^^3",
        )
    value_type = get(obx, 2).strip().upper()
    value, numeric = _value(obx, value_type)
    flags = [get(obx, 8, rep).strip().upper() for rep in range(1, repetitions(obx, 8) + 1)]
    return Observation(
        code=code[:32],
        name=get(obx, 3, 1, 2).strip()[:160],
        sub_id=get(obx, 4).strip(),
        value_type=value_type,
        value=value,
        numeric=numeric,
        units=get(obx, 6, 1, 1).strip()[:32],
        reference_range=get(obx, 7).strip()[:64],
        lab_flag=lab_flag(flags),
        status=status,
        observed_at=parse_dtm(get(obx, 14), local),
    )


def _value(obx: Any, value_type: str) -> tuple[str, float | None]:
    """OBX-5 as text, and as a number when it is one (NM, or SN without a range)."""
    count = max(1, repetitions(obx, 5))
    if value_type == "SN":
        comparator, number = get(obx, 5, 1, 1).strip(), get(obx, 5, 1, 2).strip()
        separator, second = get(obx, 5, 1, 3).strip(), get(obx, 5, 1, 4).strip()
        text = f"{comparator}{number}{separator}{second}"
        return text, None if separator or second else _number(number)
    if value_type in {"CE", "CWE", "CNE"}:
        texts = [
            get(obx, 5, r, 2).strip() or get(obx, 5, r, 1).strip() for r in range(1, count + 1)
        ]
        return "~".join(t for t in texts if t), None
    parts = [_whole(obx, r) for r in range(1, count + 1)]
    joiner = "\n" if value_type in _TEXT_TYPES else "~"
    text = joiner.join(parts).replace("\r", "\n").strip()
    return text, _number(text) if value_type == "NM" else None


def _whole(obx: Any, rep: int) -> str:
    """One repetition of OBX-5 with its components joined back by ``^``."""
    comps: list[str] = []
    for comp in range(1, 50):
        value = get(obx, 5, rep, comp)
        comps.append(value)
        if comp > 1 and not value and not get(obx, 5, rep, comp + 1):
            break
    return "^".join(comps).rstrip("^")


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def lab_flag(flags: Sequence[str]) -> AbnormalFlag | None:
    """The most severe OBX-8 flag LabDesk knows (``H~POS`` -> H); None when none is known."""
    best: AbnormalFlag | None = None
    for raw in flags:
        try:
            flag = AbnormalFlag(_FLAG_ALIASES.get(raw, raw))
        except ValueError:
            continue
        if best is None or _FLAG_SEVERITY[flag] > _FLAG_SEVERITY[best]:
            best = flag
    return best


def final_flag(
    lab: AbnormalFlag | None,
    numeric: float | None,
    critical_low: float | None,
    critical_high: float | None,
) -> AbnormalFlag | None:
    """The lab's flag, raised to critical when the value is beyond the catalog's limits.

    Limits are exclusive: a potassium of exactly 6.2 with a critical high of 6.2 is not
    critical (catalogs state them as "< low or > high").
    """
    if numeric is not None:
        if critical_low is not None and numeric < critical_low:
            return AbnormalFlag.CRITICAL_LOW
        if critical_high is not None and numeric > critical_high:
            return AbnormalFlag.CRITICAL_HIGH
    return lab


def status_after(obr_status: str, current: Sequence[ResultStatus]) -> TestStatus:
    """The ordered test's status once a group is applied.

    Args:
        obr_status: OBR-25 of the group just received.
        current: Statuses of the test's current results (after corrections/retractions).
    """
    if obr_status == "X":
        return TestStatus.NOT_PERFORMED
    if not current:
        return TestStatus.RECEIVED  # everything retracted: a result is awaited again
    if all(s is ResultStatus.NOT_OBTAINED for s in current):
        return TestStatus.NOT_PERFORMED
    if obr_status in OPEN_ORDER_STATUSES or ResultStatus.PRELIMINARY in current:
        return TestStatus.PRELIMINARY
    return TestStatus.FINAL
