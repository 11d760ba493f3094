"""Canonical hashing shared by the custody chain and the audit log.

Each record's hash is SHA-256 over the previous hash and a canonical JSON encoding of its
content (sorted keys, no whitespace, datetimes as UTC ISO-8601), so any edit, deletion or
insertion breaks every later link.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from enum import Enum

GENESIS = "0" * 64

CUSTODY = "custody"
"""Name of the custody chain (its anchors and head counter are kept under this name)."""
AUDIT = "audit"
"""Name of the audit chain."""


def _default(value: object) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in hashed content")
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    raise TypeError(f"cannot hash {type(value).__name__}")


def canonical(content: dict[str, object]) -> str:
    """Return the canonical JSON text of ``content``."""
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def link_hash(previous: str, content: dict[str, object]) -> str:
    """Hash ``content`` chained to ``previous``."""
    digest = hashlib.sha256()
    digest.update(previous.encode("ascii"))
    digest.update(canonical(content).encode("utf-8"))
    return digest.hexdigest()
