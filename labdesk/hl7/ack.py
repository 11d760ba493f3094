"""Building original-mode acknowledgements (ACK with MSA, and ERR when refused).

Nothing the sender wrote reaches the ACK as it was sent: every echoed value (MSH-3 to -6,
MSH-9's trigger, MSH-10) was unescaped on reading, so it may hold a delimiter, a segment
end (``\\X0D\\``) or an MLLP framing byte; :func:`escape` re-escapes the delimiters and
turns every control character into a space, and each value is cut to a bounded length
before escaping (never through an escape sequence). MSH-12 is echoed only when it is a
version LabDesk supports, else the ACK says 2.5.1.
"""

from __future__ import annotations

import re
from datetime import datetime

from labdesk.domain.hl7 import AckCode
from labdesk.hl7.parse import SUPPORTED_VERSIONS, Header

APPLICATION = "LABDESK"
DEFAULT_VERSION = "2.5.1"
_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOT_LOCATION = re.compile(r"[^A-Za-z0-9^]")
"""ERR-2 is LabDesk's own ``SEG^seq^field``: its components stay, anything else goes."""
ECHO_LIMIT = 180
"""Characters of one echoed value at most (before escaping): a 100 kB MSH-3 is not sent back."""


def escape(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` safe inside one ACK field: at most ``limit`` characters of it, HL7 delimiters
    (standard ``|^~\\&``) escaped, control characters (CR, LF, VT, FS...) as spaces."""
    text = " ".join(_CONTROL.sub(" ", text[:limit]).split())
    for char, seq in _ESCAPES:
        text = text.replace(char, seq)
    return text


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
    location: str = "",
) -> str:
    """The ACK answering ``header`` (None for a frame that was not HL7 at all).

    MSA-3 carries ``text`` (the reason for AE/AR, or a note such as "duplicate"); an AE/AR
    also gets ERR-2 (``location``, e.g. ``MSH^1^12``, when the fault is in one field), ERR-3
    (table 0357 code) and ERR-4 severity E. Segments end with CR.
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
            h.version if h and h.version in SUPPORTED_VERSIONS else DEFAULT_VERSION,
        ]
    )
    control = escape(h.control_id) if h else ""
    segments = [msh, f"MSA|{code.value}|{control}|{escape(text, 200)}"]
    if code is not AckCode.ACCEPT:
        where = _NOT_LOCATION.sub("", location)[:40]
        code_0357 = escape(error_code, 8) or "207"
        segments.append(f"ERR||{where}|{code_0357}^{escape(text, 80)}^HL70357|E")
    return "\r".join(segments) + "\r"


def build_batch_ack(acks: list[str], *, now: datetime) -> str:
    """Several ACKs wrapped in BHS/BTS, answering a batch sent in one frame."""
    return (
        f"BHS|^~\\&|{APPLICATION}||||{hl7_timestamp(now)}\r" + "".join(acks) + f"BTS|{len(acks)}\r"
    )
