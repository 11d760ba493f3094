"""What an ORM^O01 / OML^O21 from the EHR asks for: new orders and cancellations (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from labdesk.domain.order import Priority
from labdesk.hl7.parse import (
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE,
    TABLE_VALUE_NOT_FOUND,
    Hl7Error,
    get,
    segment_id,
)
from labdesk.hl7.values import parse_dtm, person_name

NEW = "NW"
CANCEL = "CA"
SUPPORTED_CONTROLS = frozenset({NEW, CANCEL})


@dataclass(frozen=True)
class OrderLine:
    """One ORC (with its OBR, when there is one)."""

    control: str
    placer_order_number: str
    requisition: str
    test_code: str
    alt_test_code: str
    test_name: str
    priority: Priority
    ordered_at: datetime | None
    provider: str
    cancel_reason: str


def read_order_lines(message: Any, local: ZoneInfo) -> list[OrderLine]:
    """Every ORC of an order message with the OBR that follows it.

    Raises:
        Hl7Error: (AE) for an OBR before any ORC, a missing or unsupported ORC-1, no
            placer order number, or a new order without OBR-4.
    """
    pending: list[dict[str, Any]] = []
    for segment in message:
        name = segment_id(segment)
        if name == "ORC":
            pending.append({"orc": segment, "obr": None, "tq1": None})
        elif name in {"OBR", "TQ1"}:
            if not pending:
                raise Hl7Error(
                    f"{name} before any ORC: segment sequence error.", code=SEGMENT_SEQUENCE
                )
            key = name.lower()
            if pending[-1][key] is not None:  # a second OBR under one ORC: same order
                pending.append({"orc": pending[-1]["orc"], "obr": None, "tq1": pending[-1]["tq1"]})
            pending[-1][key] = segment
    if not pending:
        raise Hl7Error("The order message has no ORC segment.", code=SEGMENT_SEQUENCE)
    return [_line(p["orc"], p["obr"], p["tq1"], local) for p in pending]


def _line(orc: Any, obr: Any | None, tq1: Any | None, local: ZoneInfo) -> OrderLine:
    control = get(orc, 1).strip().upper()
    if not control:
        raise Hl7Error(
            "ORC-1 (order control) is empty.", code=REQUIRED_FIELD_MISSING, location="ORC^^1"
        )
    if control not in SUPPORTED_CONTROLS:
        raise Hl7Error(
            f"ORC-1 order control '{control[:4]}' is not handled (NW new, CA cancel).",
            code=TABLE_VALUE_NOT_FOUND,
            location="ORC^^1",
        )
    placer = get(orc, 2).strip() or (get(obr, 2).strip() if obr is not None else "")
    if not placer:
        raise Hl7Error(
            "ORC-2 / OBR-2 (placer order number) is empty.",
            code=REQUIRED_FIELD_MISSING,
            location="ORC^^2",
        )
    code = get(obr, 4, 1, 1).strip() if obr is not None else ""
    if control == NEW and not code:
        raise Hl7Error(
            f"New order {placer[:40]}: OBR-4 (test ordered) is missing.",
            code=REQUIRED_FIELD_MISSING,
            location="OBR^^4",
        )
    return OrderLine(
        control=control,
        placer_order_number=placer[:40],
        requisition=get(orc, 4).strip()[:40],
        test_code=code[:32],
        alt_test_code=get(obr, 4, 1, 4).strip()[:32] if obr is not None else "",
        test_name=get(obr, 4, 1, 2).strip()[:160] if obr is not None else "",
        priority=_priority(orc, obr, tq1),
        ordered_at=parse_dtm(get(orc, 9), local)
        or (parse_dtm(get(obr, 6), local) if obr is not None else None),
        provider=person_name(orc, 12) or (person_name(obr, 16) if obr is not None else ""),
        cancel_reason=(get(orc, 16, 1, 2).strip() or get(orc, 16, 1, 1).strip())[:200],
    )


def _priority(orc: Any, obr: Any | None, tq1: Any | None) -> Priority:
    """STAT when TQ1-9 says S (2.5), else ORC-7.6 / OBR-27.6 / OBR-5 (older versions)."""
    candidates = [get(tq1, 9, 1, 1) if tq1 is not None else "", get(orc, 7, 1, 6)]
    if obr is not None:
        candidates += [get(obr, 27, 1, 6), get(obr, 5)]
    for value in candidates:
        if value.strip():
            return Priority.STAT if value.strip().upper() == "S" else Priority.ROUTINE
    return Priority.ROUTINE
