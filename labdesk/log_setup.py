"""Logging that keeps secrets and patient data out of log files.

:class:`RedactingFilter` sits on every handler: it masks passwords in database URLs,
``password=``/``pin=``/``secret=``-style values, argon2 hashes, and SQL parameters (which
can hold names and dates of birth) in SQLAlchemy's own log lines and in tracebacks. Code
must still log record ids only, never names: the filter is a safety net, not a licence.
The log file lives in the data directory, readable by its owner only.
"""

from __future__ import annotations

import logging
import os
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path

MASK = "***"
LOG_FILE = "labdesk.log"
MAX_BYTES = 5_000_000
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)([^@\s]+)(@)", re.IGNORECASE)
_KEY_VALUE = re.compile(
    r"""(?P<key>\b(?:password|passwd|passphrase|pwd|pin|secret|token|api[_-]?key)\b
        ["']?\s*[=:]\s*)(?P<quote>["']?)(?P<value>[^\s"',;&]+)""",
    re.IGNORECASE | re.VERBOSE,
)
_ARGON2 = re.compile(r"\$argon2(?:id|i|d)\$[^\s'\"]+")
# PostgreSQL repeats row values in constraint errors: "Failing row contains (...)",
# "Key (mrn)=(...) already exists".
_PG_ROW_DETAIL = re.compile(r"(DETAIL:\s+(?:Failing row contains|Key)\b)[^\n]*")
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\n|\(Background|$))", re.DOTALL)


def redact(text: str) -> str:
    """``text`` with secrets and SQL parameters masked."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group('key')}{m.group('quote')}{MASK}", text)
    text = _ARGON2.sub(MASK, text)
    text = _PG_ROW_DETAIL.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _SQL_PARAMETERS.sub(f"[parameters: {MASK}]", text)


class RedactingFilter(logging.Filter):
    """Mask secrets in every record passing a handler (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place."""
        if record.name.startswith("sqlalchemy.engine") and _has_parameters(record.args):
            record.msg, record.args = "[SQL parameters hidden]", ()
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        # Another handler may have formatted the traceback already: redact it either way.
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating file whose every generation is readable by its owner only."""

    def _open(self):  # type: ignore[no-untyped-def]  # typeshed: returns a text stream
        stream = super()._open()
        Path(self.baseFilename).chmod(0o600)
        return stream


def _has_parameters(args: object) -> bool:
    items = args if isinstance(args, tuple) else (args,)
    return any(isinstance(a, (tuple, list, dict)) for a in items)


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Put a :class:`RedactingFilter` on every handler of ``logger`` (root by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def log_to_file(data_dir: Path, level: int = logging.INFO) -> Path:
    """Also log to ``<data_dir>/logs/labdesk.log`` (owner-only, rotated, redacted).

    Returns:
        The log file's path.
    """
    folder = data_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / LOG_FILE
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    handler = _PrivateRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    return path
