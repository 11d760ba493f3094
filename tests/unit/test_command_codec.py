"""The outbox's JSON form of a command rebuilds exactly the command that was stored."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from labdesk.access.commands import SetUserActive
from labdesk.custody.commands import ScanPickup
from labdesk.kernel.command_codec import (
    FORMAT,
    CommandDecodeError,
    CommandNotPortable,
    decode,
    encode,
    is_portable,
)
from labdesk.kernel.messagebus import Command
from tests.unit.test_commands import _all_command_types


def _sample(hint: Any, salt: int) -> Any:
    """A value of type ``hint`` that differs by ``salt`` (so fields are not all equal)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return _sample(members[salt % len(members)], salt)
    if origin is tuple:
        if args and args[-1] is Ellipsis:
            return (_sample(args[0], salt), _sample(args[0], salt + 1))
        return tuple(_sample(a, salt + i) for i, a in enumerate(args))
    if origin is frozenset:
        return frozenset({_sample(args[0], salt), _sample(args[0], salt + 1)})
    if hint is bool:
        return salt % 2 == 0
    if hint is int:
        return 40 + salt
    if hint is float:
        return 0.5 + salt
    if hint is str:
        return f"value-{salt}"
    if hint is datetime:
        return datetime(2026, 12, 3, 9, salt % 60, tzinfo=UTC)
    if hint is date:
        return date(2026, 12, 1 + salt % 28)
    if hint is Path:
        return Path(f"/tmp/file-{salt}.csv")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        members = list(hint)
        return members[salt % len(members)]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        sub = typing.get_type_hints(hint)
        return hint(
            **{
                f.name: _sample(sub[f.name], salt + i)
                for i, f in enumerate(dataclasses.fields(hint))
            }
        )
    raise AssertionError(f"no sample for {hint}")


def _instance(command_type: type[Command[Any]]) -> Command[Any]:
    hints = typing.get_type_hints(command_type)
    values = {
        f.name: _sample(hints[f.name], i) for i, f in enumerate(dataclasses.fields(command_type))
    }
    try:
        return command_type(**values)
    except (ValueError, TypeError) as refused:  # a command that validates its own fields
        pytest.skip(f"{command_type.__name__} refuses sample values: {refused}")


PORTABLE = [t for t in _all_command_types() if is_portable(t)]


@pytest.mark.parametrize("command_type", PORTABLE, ids=lambda t: t.__name__)
def test_every_portable_command_round_trips(command_type: type[Command[Any]]) -> None:
    command = _instance(command_type)
    assert decode(encode(command)) == command


def test_most_commands_at_the_chair_are_portable() -> None:
    names = {t.__name__ for t in PORTABLE}
    assert {"ScanPickup"} <= names
    assert len(PORTABLE) >= len(_all_command_types()) // 2


def test_a_union_keeps_its_member_type() -> None:
    # ``int | str`` (a user by id or by user name) must come back as the type it was.
    for user in (7, "7"):
        command = SetUserActive(user=user, active=False)
        again = decode(encode(command))
        assert again == command
        assert type(again.user) is type(user)  # type: ignore[attr-defined]


def test_a_command_holding_a_callback_is_not_portable() -> None:
    non_portable = [t for t in _all_command_types() if not is_portable(t)]
    assert non_portable, "some commands carry callbacks or printer objects"
    command_type = non_portable[0]
    hints = typing.get_type_hints(command_type)
    values: dict[str, Any] = {}
    for i, f in enumerate(dataclasses.fields(command_type)):
        try:
            values[f.name] = _sample(hints[f.name], i)
        except AssertionError:
            values[f.name] = object()
    with pytest.raises(CommandNotPortable):
        encode(command_type(**values))


def test_naive_times_are_refused_rather_than_guessed() -> None:
    dated = [
        (command, f.name)
        for command in map(_instance, PORTABLE)
        for f in dataclasses.fields(command)
        if isinstance(getattr(command, f.name), datetime)
    ]
    if not dated:
        pytest.skip("no command carries a time at its top level")
    command, name = dated[0]
    naive = dataclasses.replace(command, **{name: datetime(2026, 12, 3, 9, 0)})  # noqa: DTZ001
    with pytest.raises(CommandNotPortable, match="timezone"):
        encode(naive)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format=FORMAT + 1), "format"),
        (lambda d: d.update(type="DropEverything"), "unknown command"),
        (lambda d: d["fields"].pop("scanned"), "missing"),
        (lambda d: d["fields"].update(extra=1), "unknown"),
        (lambda d: d["fields"].update(scanned=12), "scanned"),
    ],
    ids=["other-format", "unknown-type", "missing-field", "extra-field", "wrong-type"],
)
def test_an_entry_that_does_not_fit_is_refused_with_what_to_do(change: Any, message: str) -> None:
    doc = json.loads(encode(ScanPickup(manifest_number="M-7", scanned="ABC")))
    change(doc)
    with pytest.raises(CommandDecodeError, match=message) as refused:
        decode(json.dumps(doc))
    assert "kept" in refused.value.hint


def test_garbage_is_refused() -> None:
    with pytest.raises(CommandDecodeError, match="not valid JSON"):
        decode("{half a line")
