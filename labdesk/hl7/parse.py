"""Reading HL7 v2 text with python-hl7: frames, batches, headers and safe field access.

python-hl7 does the parsing; this module only makes it total. Its errors (and the odd
``ValueError`` from an escape sequence such as ``\\.inx\\``) become :class:`Hl7Error` with
an acknowledgement code and an HL7 table 0357 error code, so a malformed message is always
answered, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import hl7
from hl7.util import unescape

from labdesk.domain.hl7 import AckCode
from labdesk.hl7.hl7_tree import LeanFactory, parse_tree

SUPPORTED_VERSIONS = frozenset({"2.3", "2.3.1", "2.4", "2.5", "2.5.1"})
SUPPORTED_TYPES = frozenset({"ORU^R01", "ORM^O01", "OML^O21"})
_LINE_ENDS = re.compile(r"\r\n|\n|\r")

# HL7 table 0357 (message error condition codes) used in ERR-3.
SEGMENT_SEQUENCE = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT = "201"
UNSUPPORTED_VERSION = "203"
UNKNOWN_KEY = "204"
DUPLICATE_KEY = "205"
INTERNAL_ERROR = "207"


class Hl7Error(Exception):
    """A message LabDesk cannot apply, with the answer the sender gets.

    ``code`` goes to ERR-3 (table 0357) and ``location`` to ERR-2 (``SEG^1^field``, e.g.
    ``MSH^1^12``) when the fault is in one field, so the sender's interface team sees which
    field to fix without reading LabDesk's text.
    """

    def __init__(
        self,
        reason: str,
        *,
        ack: AckCode = AckCode.ERROR,
        code: str = "",
        location: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ack = ack
        self.code = code or (INTERNAL_ERROR if ack is AckCode.ERROR else UNSUPPORTED_MESSAGE_TYPE)
        self.location = location


def normalize(text: str) -> str:
    """Segments separated by CR whatever the sender used (CR, LF or CRLF); ends trimmed."""
    return _LINE_ENDS.sub("\r", text).strip("\r\n \t\x0b\x1c\x00")


def decode(data: bytes) -> str:
    """Bytes as text: UTF-8 when valid, else Latin-1 (which never fails, so nothing is lost)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def split_frame(text: str) -> list[str]:
    """The messages of one frame or file: a single message, or an FHS/BHS batch.

    Raises:
        Hl7Error: (AR) when the text is not HL7 or the batch is malformed.
    """
    body = normalize(text)
    if not body.startswith(("MSH", "BHS", "FHS")):
        raise Hl7Error(
            "Not an HL7 message: the text does not begin with an MSH, BHS or FHS segment.",
            ack=AckCode.REJECT,
            code=SEGMENT_SEQUENCE,
        )
    if body.startswith("MSH") and body.count("\rMSH") == 0:
        return [body + "\r"]
    try:
        parsed: Any = hl7.parse_file(body, factory=LeanFactory)
    except Exception as exc:  # python-hl7 raises ParseException, ValueError, IndexError...
        raise Hl7Error(
            f"Malformed batch: {exc}", ack=AckCode.REJECT, code=SEGMENT_SEQUENCE
        ) from exc
    messages = [str(message) for batch in parsed for message in batch]
    if not messages:
        raise Hl7Error("The batch holds no message.", ack=AckCode.REJECT, code=SEGMENT_SEQUENCE)
    return messages


def parse_message(text: str) -> Any:
    """An ``hl7.Message`` for one message's text.

    Raises:
        Hl7Error: (AR) when python-hl7 cannot read it.
    """
    body = normalize(text)
    if not body.startswith("MSH") or len(body) < 8:
        raise Hl7Error(
            "Not an HL7 message: it does not begin with an MSH segment.",
            ack=AckCode.REJECT,
            code=SEGMENT_SEQUENCE,
        )
    if body[3].isalnum() or len(set(body[3:8])) != 5:
        raise Hl7Error(
            "MSH-1/MSH-2: the field separator and the four encoding characters must be five "
            "different non-alphanumeric characters.",
            ack=AckCode.REJECT,
            code=DATA_TYPE_ERROR,
            location="MSH^1^2",
        )
    try:
        return parse_tree(body)
    except Exception as exc:
        raise Hl7Error(
            f"Unreadable message: {exc}"[:200], ack=AckCode.REJECT, code=SEGMENT_SEQUENCE
        ) from exc


_item = list.__getitem__
"""Indexing without python-hl7's ``Container.__getitem__`` (a Python-level override that
only matters for slices): ``get`` runs some forty times per message."""


def get(segment: Any, field: int, rep: int = 1, comp: int = 1, sub: int = 1) -> str:
    """One value (unescaped) from ``segment``; ``""`` when absent. Never raises.

    Follows python-hl7's tree: a field holds repetitions, a repetition components, a
    component sub-components; a plain string at any level is its own first child.
    """
    if field >= len(segment):
        return ""
    node: Any = _item(segment, field)
    for index in (rep, comp, sub):
        if isinstance(node, str):
            if index != 1:
                return ""
            break
        if index > len(node):
            return ""
        node = _item(node, index - 1)
    while not isinstance(node, str):  # the path stopped above a leaf: take its first child
        if not node:
            return ""
        node = _item(node, 0)
    if field in (1, 2) and segment_id(segment) == "MSH":
        return node
    if getattr(segment, "esc", "\\") not in node:
        return node  # nothing to unescape (almost every value): skip python-hl7's unescape
    try:
        return str(unescape(segment, node))
    except Exception:  # an escape python-hl7 cannot read: keep the text exactly as sent
        return node


def repetitions(segment: Any, field: int) -> int:
    """How many repetitions field ``field`` has (0 when absent or empty)."""
    if field >= len(segment):
        return 0
    node: Any = _item(segment, field)
    if isinstance(node, str) or (len(node) == 1 and isinstance(node[0], str)):
        return 1 if str(node[0] if not isinstance(node, str) else node) else 0
    return len(node)


def segment_id(segment: Any) -> str:
    """The segment name exactly as sent (``""`` for a blank line).

    A name field holding a repetition or component separator (``PID~X``) is returned whole,
    so it matches no known segment instead of passing for its first part; an empty
    segment (a blank line between segments) is a plain ``""``, not a field.
    """
    if not len(segment):
        return ""
    name: Any = _item(segment, 0)
    return name if isinstance(name, str) else str(name)


@dataclass(frozen=True)
class Header:
    """What LabDesk needs from MSH."""

    control_id: str
    message_code: str
    trigger: str
    version: str
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    timestamp: str

    @property
    def message_type(self) -> str:
        """``ORU^R01`` style type."""
        return f"{self.message_code}^{self.trigger}" if self.trigger else self.message_code

    @property
    def sender(self) -> str:
        """Sending application and facility, the scope MSH-10 is unique in."""
        return f"{self.sending_application}|{self.sending_facility}"[:120]


def read_header(message: Any) -> Header:
    """MSH fields of a parsed message (empty strings where absent)."""
    msh = message[0]
    return Header(
        control_id=get(msh, 10).strip(),
        message_code=get(msh, 9, 1, 1).strip().upper(),
        trigger=get(msh, 9, 1, 2).strip().upper(),
        version=get(msh, 12, 1, 1).strip(),
        sending_application=get(msh, 3).strip(),
        sending_facility=get(msh, 4).strip(),
        receiving_application=get(msh, 5).strip(),
        receiving_facility=get(msh, 6).strip(),
        timestamp=get(msh, 7).strip(),
    )


def check_header(header: Header) -> None:
    """Refuse messages LabDesk does not take (AR), before anything is applied.

    Raises:
        Hl7Error: naming the MSH field at fault.
    """
    if not header.control_id:
        raise Hl7Error(
            "MSH-10 (message control ID) is empty.",
            ack=AckCode.REJECT,
            code=REQUIRED_FIELD_MISSING,
            location="MSH^1^10",
        )
    if len(header.control_id) > 64:
        raise Hl7Error(
            "MSH-10 (message control ID) is longer than 64 characters.",
            ack=AckCode.REJECT,
            code=DATA_TYPE_ERROR,
            location="MSH^1^10",
        )
    if header.message_type not in SUPPORTED_TYPES:
        shown = header.message_type[:20] or "empty"
        raise Hl7Error(
            f"MSH-9 message type {shown} is not accepted here "
            f"(accepted: {', '.join(sorted(SUPPORTED_TYPES))}).",
            ack=AckCode.REJECT,
            code=UNSUPPORTED_MESSAGE_TYPE if header.message_code else REQUIRED_FIELD_MISSING,
            location="MSH^1^9",
        )
    if header.version not in SUPPORTED_VERSIONS:
        raise Hl7Error(
            f"MSH-12 version {header.version[:12] or 'empty'} is not supported (2.3 to 2.5.1).",
            ack=AckCode.REJECT,
            code=UNSUPPORTED_VERSION,
            location="MSH^1^12",
        )
