"""Commands as JSON: the form a command takes in the downtime outbox (issue 12).

A station working offline stores each command it handled locally, and later replays it to
the server through the same handlers (``docs/downtime.md``). So a command must survive a
trip through a file, with nothing guessed. :func:`encode` writes the command's type, the
codec's format version and every field. :func:`decode` rebuilds the same frozen dataclass
from its type hints.

What a field may hold: ``str``, ``int``, ``float``, ``bool``, ``None``, ``date``,
``datetime`` (timezone-aware), ``Path``, enums, frozen dataclasses of these, and tuples and
frozensets of them. A command with anything else (a progress callback, a printer object)
is not *portable*. It cannot be queued offline, and :func:`encode` says so.

Decoding refuses what it cannot rebuild exactly: an unknown command type, a field that is
missing or extra, a value of the wrong shape, or another format version. It raises
:class:`CommandDecodeError`, and the outbox keeps the entry for an administrator instead of
dropping it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from labdesk.domain.errors import LabdeskError
from labdesk.kernel.messagebus import Command, registered_commands

FORMAT = 1
"""Bump when the encoding changes; an outbox of another format is refused, not guessed."""
_ATOMS: tuple[type, ...] = (str, int, float, bool)


class CommandNotPortable(LabdeskError):
    """The command holds something that cannot be written to the outbox."""


class CommandDecodeError(LabdeskError):
    """An outbox entry that cannot be rebuilt into exactly the command that was stored."""


def encode(command: Command[Any]) -> str:
    """The command as one line of JSON (type, format, fields).

    Raises:
        CommandNotPortable: a field holds a value the outbox cannot keep.
    """
    name = type(command).__name__
    hints = _hints(type(command))
    fields = {
        f.name: _to_json(getattr(command, f.name), hints[f.name], f"{name}.{f.name}")
        for f in dataclasses.fields(command)
    }
    return json.dumps({"format": FORMAT, "type": name, "fields": fields}, sort_keys=True)


def decode(text: str) -> Command[Any]:
    """Rebuild the command :func:`encode` wrote.

    Raises:
        CommandDecodeError: for another format, an unknown type, or fields that do not fit.
    """
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise CommandDecodeError(
            f"An outbox entry is not valid JSON ({exc}).", hint=_KEEP_HINT
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise CommandDecodeError(
            f"An outbox entry is in format {found!r}; this version of LabDesk reads {FORMAT}.",
            hint=_KEEP_HINT,
        )
    name, raw = doc.get("type"), doc.get("fields")
    command_type = _command_types().get(str(name))
    if command_type is None or not isinstance(raw, dict):
        raise CommandDecodeError(
            f"An outbox entry names an unknown command {name!r}.", hint=_KEEP_HINT
        )
    command: Command[Any] = _build(command_type, raw, str(name))
    return command


def is_portable(command_type: type[Command[Any]]) -> bool:
    """Whether every field of ``command_type`` has a type the outbox can keep."""
    hints = _hints(command_type)
    return all(_portable_type(hints[f.name]) for f in dataclasses.fields(command_type))


_KEEP_HINT = (
    "The outbox file is kept as it is. Run the LabDesk version that wrote it to send it, "
    "or give the file to your administrator."
)


@cache
def _command_types() -> dict[str, type[Command[Any]]]:
    return {t.__name__: t for t in registered_commands()}


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    found = _HINTS.get(cls)
    if found is None:
        found = _HINTS[cls] = typing.get_type_hints(cls)
    return found


def _parts(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    origin = typing.get_origin(hint)
    if origin is types.UnionType:
        origin = typing.Union
    return origin, typing.get_args(hint)


def _portable_type(hint: Any) -> bool:
    origin, args = _parts(hint)
    if origin is typing.Union:
        return all(_portable_type(a) for a in args)
    if origin in (tuple, frozenset):
        return all(_portable_type(a) for a in args if a is not Ellipsis)
    if hint is type(None) or hint in _ATOMS or hint in (date, datetime, Path):
        return True
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return True
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        sub = _hints(hint)
        return all(_portable_type(sub[f.name]) for f in dataclasses.fields(hint))
    return False


def _to_json(value: Any, hint: Any, where: str) -> Any:
    origin, args = _parts(hint)
    if origin is typing.Union:
        if value is None:
            return None
        # Tag a union's member so decoding picks the same type (int | str: 7 vs "7").
        for index, member in enumerate(a for a in args if a is not type(None)):
            if _fits(value, member):
                return {"u": index, "v": _to_json(value, member, where)}
        raise CommandNotPortable(f"{where}: {type(value).__name__} fits none of {hint}.")
    if origin in (tuple, frozenset):
        item = args[0]
        items = sorted(value, key=repr) if origin is frozenset else list(value)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return [_to_json(v, a, where) for v, a in zip(items, args, strict=True)]
        return [_to_json(v, item, where) for v in items]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise CommandNotPortable(f"{where}: a time without a timezone cannot be queued.")
        return value.isoformat()
    if isinstance(value, date | Path):
        return value.isoformat() if isinstance(value, date) else str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        sub = _hints(type(value))
        return {
            f.name: _to_json(getattr(value, f.name), sub[f.name], f"{where}.{f.name}")
            for f in dataclasses.fields(value)
        }
    if value is None or isinstance(value, _ATOMS):
        return value
    raise CommandNotPortable(
        f"{where} holds a {type(value).__name__}, which cannot be queued offline."
    )


def _fits(value: Any, hint: Any) -> bool:
    origin, _args = _parts(hint)
    if origin in (tuple, frozenset):
        return isinstance(value, origin)
    if origin is not None:
        return False
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(hint, type) and isinstance(value, hint)


def _build(cls: type, raw: dict[str, Any], where: str) -> Any:
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    if set(raw) != names:
        missing, extra = sorted(names - set(raw)), sorted(set(raw) - names)
        raise CommandDecodeError(
            f"An outbox entry for {where} does not match this version "
            f"(missing {missing or 'none'}, unknown {extra or 'none'}).",
            hint=_KEEP_HINT,
        )
    values = {name: _from_json(raw[name], hints[name], f"{where}.{name}") for name in names}
    return cls(**values)


def _from_json(raw: Any, hint: Any, where: str) -> Any:
    origin, args = _parts(hint)
    try:
        if origin is typing.Union:
            if raw is None:
                return None
            members = [a for a in args if a is not type(None)]
            return _from_json(raw["v"], members[int(raw["u"])], where)
        if origin in (tuple, frozenset):
            if origin is tuple and args and args[-1] is not Ellipsis:
                return tuple(_from_json(v, a, where) for v, a in zip(raw, args, strict=True))
            return origin(_from_json(v, args[0], where) for v in raw)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return hint(raw)
        if hint is datetime:
            return datetime.fromisoformat(raw)
        if hint is date:
            return date.fromisoformat(raw)
        if hint is Path:
            return Path(raw)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return _build(hint, raw, where)
        if hint is float and isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        if hint is type(None) and raw is None:
            return None
        if isinstance(hint, type) and _fits(raw, hint):
            return raw
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise CommandDecodeError(f"{where}: cannot read {raw!r} ({exc}).", hint=_KEEP_HINT) from exc
    raise CommandDecodeError(f"{where}: {raw!r} is not a {hint}.", hint=_KEEP_HINT)
