"""The database-free half of ingest: frames split, messages parsed and read once (pure).

Everything that can be decided from the text alone (AR for what is not acceptable, AE for a
content error such as an OBX before any OBR) is decided here, before a transaction opens, so
the transaction that stores and applies a group of messages only does database work.

Work per frame is bounded before any parsing: a frame over ``max_bytes`` is refused (AR)
and its text is not kept (only the refusal, with the size); one with more than
``max_segments`` segments is refused (AR) before python-hl7 builds its tree (a 100,000
segment frame used to hold the single ingest worker for 11 s). Reading never raises: a
fault in LabDesk's own reading code becomes this frame's AE (code 207, logged), so it
cannot cost the other frames of a group commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from labdesk.domain.hl7 import AckCode
from labdesk.hl7.order_semantics import OrderLine, read_order_lines
from labdesk.hl7.parse import (
    INTERNAL_ERROR,
    SEGMENT_SEQUENCE,
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

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 1024 * 1024
"""Default largest frame taken (config ``hl7_max_frame_bytes``)."""
MAX_SEGMENTS = 2000
"""Default most segments in one frame, batch headers included (``hl7_max_segments``)."""


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


def prepare_frame(
    data: bytes | str,
    source: str,
    zone: ZoneInfo,
    *,
    max_bytes: int = MAX_FRAME_BYTES,
    max_segments: int = MAX_SEGMENTS,
) -> list[Prepared]:
    """The messages of one frame (several for an FHS/BHS batch), each read once. Never raises."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "replace"))
    if size > max_bytes:
        error = Hl7Error(
            f"Frame of {size} bytes refused: larger than the {max_bytes} bytes this listener "
            "takes (hl7_max_frame_bytes); its text was not stored.",
            ack=AckCode.REJECT,
            code=SEGMENT_SEQUENCE,
        )
        return [Prepared(raw="", source=source, header=None, error=error)]
    text = storable(decode(data) if isinstance(data, bytes) else data)
    segments = text.count("\r") + text.count("\n") - text.count("\r\n") + 1
    if segments > max_segments:
        error = Hl7Error(
            f"Frame of about {segments} segments refused unread: more than the "
            f"{max_segments} this listener takes (hl7_max_segments).",
            ack=AckCode.REJECT,
            code=SEGMENT_SEQUENCE,
        )
        return [Prepared(raw=text, source=source, header=None, error=error)]
    try:
        try:
            messages = split_frame(text)
        except Hl7Error as exc:
            return [Prepared(raw=text, source=source, header=None, error=exc)]
        if len(messages) == 1:
            return [prepare_message(messages[0], source, zone, raw=text)]
        return [prepare_message(m, source, zone) for m in messages]
    except Exception as exc:  # a bug in LabDesk's reading: this frame alone gets AE
        logger.error("reading an HL7 frame from %s failed: %s", source, type(exc).__name__)
        return [Prepared(raw=text, source=source, header=None, error=internal_error(exc))]


def internal_error(exc: Exception) -> Hl7Error:
    """AE (207) for a fault in LabDesk itself; names the exception type only (no PHI)."""
    return Hl7Error(
        f"Internal error while reading the message ({type(exc).__name__}); it is kept as a "
        "dead letter.",
        code=INTERNAL_ERROR,
    )


def prepare_message(text: str, source: str, zone: ZoneInfo, *, raw: str | None = None) -> Prepared:
    """Parse one message and read its header and content; errors become ``Prepared.error``.

    Never raises: a fault in LabDesk's reading code is this message's AE (207), logged.
    """
    text = storable(text)
    stored = storable(raw) if raw is not None else text
    try:
        return _read_message(text, source, zone, stored)
    except Exception as exc:
        logger.error("reading HL7 from %s failed: %s", source, type(exc).__name__)
        header = header_or_none(text)
        return Prepared(raw=stored, source=source, header=header, error=internal_error(exc))


def _read_message(text: str, source: str, zone: ZoneInfo, stored: str) -> Prepared:
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
