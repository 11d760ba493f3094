"""Logging that keeps secrets and patient data out of log files.

:class:`RedactingFilter` sits on every handler: it masks passwords in database URLs,
``password=``/``pin=``/``secret=``-style values, argon2 hashes, and SQL parameters (which
can hold names and dates of birth) in SQLAlchemy's own log lines and in tracebacks. Code
must still log record ids only, never names: the filter is a safety net, not a licence.

Libraries are not ours to review: python-hl7 logs the field it failed to decode ("Error
decoding value [...]", under a logger named after its file path), which is patient data.
So a record from any logger outside LabDesk's own packages keeps its message template but
loses its arguments and its exception's message. :func:`install_redaction` covers every
handler of every logger, and the record factory redacts records of loggers and handlers
created later, whatever their name.

:func:`setup_logging` is the one set-up every entry point calls (the ``labdesk`` command,
``labdesk app``, ``labdesk demo``, ``ui.app:main``): stderr, plus the log file in the data
directory, which is created readable by its owner only (folder 0700, file 0600).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType
from typing import Any

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
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[a-zA-Z%]")

OWN_LOGGERS = ("labdesk", "ui", "printers", "resources")
"""Packages whose log lines are reviewed to carry ids only: their arguments are kept."""
TRUSTED_LIBRARIES = ("alembic", "sqlalchemy")
"""Libraries whose arguments are schema revisions, pool events and the like: SQLAlchemy's
SQL parameters are hidden by the engine (``hide_parameters``) and by :func:`redact_record`."""


def redact(text: str) -> str:
    """``text`` with secrets and SQL parameters masked."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group('key')}{m.group('quote')}{MASK}", text)
    text = _ARGON2.sub(MASK, text)
    text = _PG_ROW_DETAIL.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _SQL_PARAMETERS.sub(f"[parameters: {MASK}]", text)


def _is_ours(name: str) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in (*OWN_LOGGERS, *TRUSTED_LIBRARIES))


def _template_only(msg: object) -> str:
    """A library's message template with every argument replaced by the mask."""
    return _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else MASK, str(msg))


def _frames_only(exc_info: tuple[type[BaseException], BaseException, TracebackType | None]) -> str:
    """A traceback's frames and exception type, without the message (it may quote data)."""
    kind, _value, tb = exc_info
    frames = "".join(traceback.format_tb(tb)) if tb is not None else ""
    return f"Traceback (most recent call last):\n{frames}{kind.__qualname__}: {MASK}"


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite ``record`` in place: secrets masked, library arguments hidden."""
    if getattr(record, "_labdesk_redacted", False):
        return
    ours = _is_ours(record.name)
    if record.name.startswith("sqlalchemy.engine") and _has_parameters(record.args):
        record.msg, record.args = "[SQL parameters hidden]", ()
    if not ours and record.args:
        message = _template_only(record.msg)
    else:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
    record.msg, record.args = redact(message), ()
    # Another handler may have formatted the traceback already: redact it either way.
    exc_info = record.exc_info
    if exc_info and exc_info[0] is not None and not ours:
        record.exc_text = redact(_frames_only(exc_info))
    elif exc_info and exc_info[0] is not None:
        record.exc_text = redact(logging.Formatter().formatException(exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._labdesk_redacted = True


class RedactingFilter(logging.Filter):
    """Mask secrets in every record passing a handler (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place."""
        redact_record(record)
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


def _every_logger() -> list[logging.Logger]:
    loggers = [logging.getLogger()]
    for item in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(item, logging.Logger):
            loggers.append(item)
    return loggers


class _RedactingFactory:
    """The log-record factory, wrapped: every record is redacted as it is made."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        redact_record(record)
        return record


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Redact every record, whichever logger makes it and whichever handler writes it.

    Without ``logger``: a :class:`RedactingFilter` on every handler of every logger that
    exists (the root and libraries' own), and the record factory redacts records made
    later. With ``logger``: only that logger's handlers get the filter.
    """
    targets = [logger] if logger is not None else _every_logger()
    for target in targets:
        for handler in target.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
    if logger is None and not isinstance(logging.getLogRecordFactory(), _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(logging.getLogRecordFactory()))


def private_folder(folder: Path) -> Path:
    """Create ``folder`` (and missing parents) readable by its owner only (0700).

    Parents that already exist are left as they are; a folder created here is 0700
    whatever the umask.
    """
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        path.chmod(0o700)
    return folder


def log_to_file(data_dir: Path, level: int = logging.INFO) -> Path:
    """Also log to ``<data_dir>/logs/labdesk.log`` (owner-only, rotated, redacted).

    The data directory is created 0700 when missing; ``logs`` is always 0700 and the file
    0600. A previous LabDesk log file of this process (another data directory) is closed.

    Returns:
        The log file's path.

    Raises:
        OSError: when the folder or the file cannot be created.
    """
    private_folder(data_dir)
    folder = private_folder(data_dir / "logs")
    folder.chmod(0o700)
    path = folder / LOG_FILE
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600))
    path.chmod(0o600)
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
        if isinstance(handler, _PrivateRotatingFileHandler):
            root.removeHandler(handler)
            handler.close()
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


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """LabDesk's stderr handler: whatever ``sys.stderr`` is when a record is written."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        """The current standard error (a test runner may swap it between commands)."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup_logging(data_dir: Path, *, verbose: bool = False) -> Path | None:
    """The logging of every entry point: stderr, the private log file, redaction everywhere.

    Args:
        data_dir: the workstation's data directory (the log goes to ``logs/labdesk.log``).
        verbose: debug detail on stderr and in the file (otherwise warnings on stderr and
            information in the file).

    Returns:
        The log file, or None when it cannot be created (said once on stderr; the program
        still runs).
    """
    root = logging.getLogger()
    console = next((h for h in root.handlers if isinstance(h, _ConsoleHandler)), None)
    others = [h for h in root.handlers if not isinstance(h, _PrivateRotatingFileHandler)]
    if console is None and not others:  # as logging.basicConfig: a host's handlers stay
        console = _ConsoleHandler()
        console.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(console)
    if console is not None:
        console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    file_level = logging.DEBUG if verbose else logging.INFO
    path: Path | None
    try:
        path = log_to_file(data_dir, file_level)
    except OSError as exc:
        path = None
        logging.getLogger(__name__).warning("no log file in %s: %s", data_dir, exc.strerror)
    if root.level == logging.NOTSET or root.level > file_level:
        root.setLevel(file_level)
    install_redaction()
    return path
