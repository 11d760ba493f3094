"""Building original-mode acknowledgements (ACK with MSA, and ERR when refused)."""

from __future__ import annotations

from datetime import datetime

from labdesk.domain.hl7 import AckCode
from labdesk.hl7.parse import Header

APPLICATION = "LABDESK"
_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))


def escape(text: str) -> str:
    """Escape HL7 delimiters (standard ``|^~\\&``) and drop line breaks."""
    for char, seq in _ESCAPES:
        text = text.replace(char, seq)
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


def hl7_timestamp(when: datetime) -> str:
    """A DTM with its UTC offset, e.g. ``20260302140000+0000``."""
    return when.strftime("%Y%m%d%H%M%S%z")


def build_ack(
    header: Header | None,
    code: AckCode,
    *,
    now: datetime,
    ack_id: str,
    text: str = "",
    error_code: str = "",
) -> str:
    """The ACK answering ``header`` (None for a frame that was not HL7 at all).

    MSA-3 carries ``text`` (the reason for AE/AR, or a note such as "duplicate"); an AE/AR
    also gets ERR-3 (table 0357 code) and ERR-4 severity E. Segments end with CR.
    """
    h = header
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            APPLICATION,
            escape(h.receiving_facility) if h else "",
            escape(h.sending_application) if h else "",
            escape(h.sending_facility) if h else "",
            hl7_timestamp(now),
            "",
            f"ACK^{escape(h.trigger)}^ACK" if h and h.trigger else "ACK",
            escape(ack_id),
            "P",
            h.version if h and h.version else "2.5.1",
        ]
    )
    control = escape(h.control_id) if h else ""
    segments = [msh, f"MSA|{code.value}|{control}|{escape(text)[:200]}"]
    if code is not AckCode.ACCEPT:
        segments.append(f"ERR|||{error_code or '207'}^{escape(text)[:80]}^HL70357|E")
    return "\r".join(segments) + "\r"


def build_batch_ack(acks: list[str], *, now: datetime) -> str:
    """Several ACKs wrapped in BHS/BTS, answering a batch sent in one frame."""
    return (
        f"BHS|^~\\&|{APPLICATION}||||{hl7_timestamp(now)}\r" + "".join(acks) + f"BTS|{len(acks)}\r"
    )
