"""The database-free half of ingest: frames split, messages parsed and read once (pure).

Everything that can be decided from the text alone (AR for what is not acceptable, AE for a
content error such as an OBX before any OBR) is decided here, before a transaction opens, so
the transaction that stores and applies a group of messages only does database work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from labdesk.hl7.order_semantics import OrderLine, read_order_lines
from labdesk.hl7.parse import (
    Header,
    Hl7Error,
    check_header,
    decode,
    parse_message,
    read_header,
    split_frame,
)
from labdesk.hl7.semantics import ResultGroup, read_groups
from labdesk.hl7.values import PatientRef, read_patient


@dataclass(frozen=True)
class Prepared:
    """One received message, read as far as the text allows.

    Exactly one of ``error`` and the content (``patient`` with ``groups`` or ``lines``) is
    set. ``accepted_header`` is True when MSH passed :func:`check_header`: only then does a
    repeated MSH-10 count as a duplicate.
    """

    raw: str
    source: str
    header: Header | None
    accepted_header: bool = False
    error: Hl7Error | None = None
    patient: PatientRef | None = None
    groups: tuple[ResultGroup, ...] = ()
    lines: tuple[OrderLine, ...] = ()


def prepare_frame(data: bytes | str, source: str, zone: ZoneInfo) -> list[Prepared]:
    """The messages of one frame (several for an FHS/BHS batch), each read once."""
    text = storable(decode(data) if isinstance(data, bytes) else data)
    try:
        messages = split_frame(text)
    except Hl7Error as exc:
        return [Prepared(raw=text, source=source, header=None, error=exc)]
    if len(messages) == 1:
        return [prepare_message(messages[0], source, zone, raw=text)]
    return [prepare_message(m, source, zone) for m in messages]


def prepare_message(text: str, source: str, zone: ZoneInfo, *, raw: str | None = None) -> Prepared:
    """Parse one message and read its header and content; errors become ``Prepared.error``."""
    text = storable(text)
    stored = storable(raw) if raw is not None else text
    try:
        message = parse_message(text)
        header = read_header(message)
        check_header(header)
    except Hl7Error as exc:
        return Prepared(raw=stored, source=source, header=header_or_none(text), error=exc)
    try:
        patient = read_patient(message)
        if header.message_code == "ORU":
            return Prepared(
                raw=stored,
                source=source,
                header=header,
                accepted_header=True,
                patient=patient,
                groups=tuple(read_groups(message, zone)),
            )
        lines = tuple(read_order_lines(message, zone))
    except Hl7Error as exc:
        return Prepared(raw=stored, source=source, header=header, accepted_header=True, error=exc)
    return Prepared(
        raw=stored, source=source, header=header, accepted_header=True, patient=patient, lines=lines
    )


def storable(text: str) -> str:
    """Text a database column takes: NUL (which HL7 never carries) as the HL7 escape ``\\X00\\``."""
    return text.replace("\x00", "\\X00\\")


def header_or_none(text: str) -> Header | None:
    """The MSH of a message refused early, when it can be read at all (for the ACK)."""
    try:
        message: Any = parse_message(text)
        return read_header(message)
    except Exception:
        return None
