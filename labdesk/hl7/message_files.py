"""Reading HL7 message files for ``labdesk hl7 import``: plain, batched or MLLP-framed."""

from __future__ import annotations

import io
from pathlib import Path

from hl7.client import MLLPException, read_stream

from labdesk.domain.errors import ValidationError
from labdesk.hl7.parse import Hl7Error, decode, split_frame


def read_frames(path: Path) -> list[str]:
    """The messages in ``path``, one string each, as sent.

    A file of MLLP blocks is split on the block ends (python-hl7's ``read_stream``); a text
    file (CR, LF or CRLF line ends; FHS/BHS batches allowed) is split into its messages. Text
    that cannot be split is returned whole, so the importer keeps it as a dead letter.

    Raises:
        ValidationError: when the file cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(
            f"Cannot read {path}: {exc.strerror}.", hint="Give the path of a message file."
        ) from exc
    if b"\x1c" in data:
        return _framed(data)
    text = decode(data)
    if not text.strip():
        return []
    try:
        return split_frame(text)
    except Hl7Error:
        return [text]


def _framed(data: bytes) -> list[str]:
    frames: list[str] = []
    stream = io.BytesIO(data)
    try:
        for block in read_stream(stream):
            if block.strip():
                frames.append(decode(block))
    except MLLPException:  # text after the last block end: keep it, it is refused later
        frames.append(decode(data.rsplit(b"\x1c", 1)[-1].strip(b"\x0b\r\n ")))
    return frames
