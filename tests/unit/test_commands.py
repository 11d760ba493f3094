"""Every command is a frozen, keyword-only dataclass with exactly one handler; secrets hidden."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any

import pytest

import labdesk
from labdesk.kernel.messagebus import AlreadyHandled, Command, registered_commands

SECRET_WORDS = ("secret", "password", "pin", "passphrase")


def _import_every_commands_module() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(labdesk.__path__):
        name = f"labdesk.{info.name}.commands"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue
        names.append(name)
    return names


def _all_command_types() -> list[type[Command[Any]]]:
    _import_every_commands_module()
    found: list[type[Command[Any]]] = []
    pending: list[type[Any]] = [Command]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("labdesk."):
                found.append(sub)
    return found


def test_feature_packages_have_commands() -> None:
    modules = _import_every_commands_module()
    assert "labdesk.custody.commands" in modules
    assert len(modules) >= 4, modules


@pytest.mark.parametrize("command_type", _all_command_types(), ids=lambda t: t.__name__)
def test_each_command_is_frozen_keyword_only_and_handled(command_type: type[Any]) -> None:
    assert command_type in registered_commands(), f"{command_type.__name__} has no handler"
    params = command_type.__dataclass_params__
    assert params.frozen, f"{command_type.__name__} must be frozen"
    fields = {f.name: f for f in dataclasses.fields(command_type)}
    assert "idempotency_key" in fields
    assert all(f.kw_only for f in fields.values()), f"{command_type.__name__} must be kw_only"
    assert command_type.__doc__, f"{command_type.__name__} needs a docstring"


@pytest.mark.parametrize("command_type", _all_command_types(), ids=lambda t: t.__name__)
def test_a_secret_never_shows_in_repr(command_type: type[Any]) -> None:
    secrets = [
        f.name
        for f in dataclasses.fields(command_type)
        if any(word in f.name.lower() for word in SECRET_WORDS)
    ]
    if not secrets:
        return
    values: dict[str, Any] = {}
    for f in dataclasses.fields(command_type):
        if f.name == "idempotency_key":
            continue
        has_default = (
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        )
        if has_default and f.name not in secrets:
            continue
        values[f.name] = "S3CRET-VALUE" if f.name in secrets else _placeholder(f.type)
    try:
        command = command_type(**values)
    except TypeError as exc:  # pragma: no cover - a field this test cannot fill
        pytest.skip(f"cannot build {command_type.__name__}: {exc}")
    assert "S3CRET-VALUE" not in repr(command)


def _placeholder(annotation: object) -> object:
    text = str(annotation)
    if text.startswith(("int", "'int")) or text == "int":
        return 1
    if "bool" in text:
        return False
    if "tuple" in text or "Sequence" in text:
        return ()
    return "x"


def test_already_handled_says_what_and_what_to_do() -> None:
    from labdesk.custody.commands import ScanPickup

    error = AlreadyHandled(ScanPickup(manifest_number="M1", scanned="x"))
    assert error.message == "Scan pickup was already recorded; it was not done twice."
    assert error.hint
