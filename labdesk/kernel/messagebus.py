"""Commands, their handlers, and the bus that runs each in one transaction.

The one transaction rule (after Percival and Gregory, *Architecture Patterns with Python*,
ch. 10, ``service_layer/messagebus.py``): every state-changing use case is a frozen
:class:`Command` handled by one function registered with :func:`handler`. The bus

1. opens a unit of work,
2. claims the command's idempotency key in that transaction (``handled_commands``; a key
   already handled raises :class:`AlreadyHandled` and nothing runs),
3. calls the handler, which checks permission, does the work and writes audit,
4. commits, so the key and the work land together or not at all.

A handler may commit earlier itself (a denial or a refusal that must be recorded even though
the use case fails); the key is already in the transaction, so it commits with that work.

Work that must not hold a transaction open (sending a label to a printer over the network)
goes in an **after-commit step** registered with the handler (``@handler(C, then=step)``):
the handler queues the work in the transaction and returns what the step needs; after the
commit the bus calls ``step(command, queued, AfterCommit(...))``, which opens units of work of
its own, and returns the step's result. If the process dies between the two, the queued work
is still there for its background worker (the print spooler); a replay of the command is
refused by its key and queues nothing twice.

Queries stay plain functions over a unit of work returning DTOs; :meth:`MessageBus.query`
runs one in a unit of work that is rolled back. The front ends (``ui/``, ``labdesk/cli/``,
``printers/``) build commands and hand them to a bus; they never open a unit of work or
commit (``tests/unit/test_command_rule.py`` enforces it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast

from labdesk.domain.clock import Clock
from labdesk.domain.errors import LabdeskError
from labdesk.kernel.dto import SignedInUser
from labdesk.ports import UnitOfWork, UowFactory

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
C = TypeVar("C", bound="Command[Any]")
P = ParamSpec("P")
T = TypeVar("T")


def new_idempotency_key() -> str:
    """A fresh random key (UUID4 hex): what a command gets unless its sender chose one."""
    return uuid.uuid4().hex


@dataclass(frozen=True, kw_only=True)
class Command(Generic[R_co]):
    """A request to change state, named in the imperative (``ScanPickup``).

    ``R_co`` is what its handler returns. The idempotency key identifies this request, not
    its content: two scans of the same tube are two commands; the same command sent twice
    (a retry after a lost answer, the downtime outbox replaying) shares one key.
    """

    idempotency_key: str = field(default_factory=new_idempotency_key)


def _signed_in(actor: SignedInUser | None) -> SignedInUser:
    if actor is None:
        raise TypeError("this command needs a signed-in user")
    return actor


@dataclass(frozen=True)
class HandlerContext:
    """What a handler gets besides its command: the open unit of work, the clock, the actor."""

    uow: UnitOfWork
    clock: Clock
    actor: SignedInUser | None

    @property
    def user(self) -> SignedInUser:
        """The signed-in actor; a command sent without one is a programming error."""
        return _signed_in(self.actor)


@dataclass(frozen=True)
class AfterCommit:
    """What an after-commit step gets: no open unit of work, a factory to open its own."""

    uows: UowFactory
    clock: Clock
    actor: SignedInUser | None

    @property
    def user(self) -> SignedInUser:
        """The signed-in actor; a command sent without one is a programming error."""
        return _signed_in(self.actor)


Handler = Callable[[Any, HandlerContext], Any]
Step = Callable[[Any, Any, AfterCommit], Any]

_HANDLERS: dict[type[Command[Any]], tuple[Handler, Step | None]] = {}


def handler(
    command_type: type[C], *, then: Callable[[C, Any, AfterCommit], Any] | None = None
) -> Callable[[Callable[[C, HandlerContext], R]], Callable[[C, HandlerContext], R]]:
    """Register the decorated function as the one handler of ``command_type``.

    Commands and their handlers live side by side in each feature's ``commands`` module, so
    a command that exists has its handler registered.

    Args:
        command_type: the command class.
        then: an after-commit step; when given, what the bus returns is the step's result
            (the command's ``R``), and the handler's result is only handed to the step.
    """

    def register(fn: Callable[[C, HandlerContext], R]) -> Callable[[C, HandlerContext], R]:
        if command_type in _HANDLERS:
            raise TypeError(f"{command_type.__name__} already has a handler")
        _HANDLERS[command_type] = (fn, then)
        return fn

    return register


def registered_commands() -> list[type[Command[Any]]]:
    """Every command type with a handler, for tests and documentation."""
    return list(_HANDLERS)


class AlreadyHandled(LabdeskError):
    """A command whose idempotency key was handled before: it was not done again."""

    def __init__(self, command: Command[Any]) -> None:
        super().__init__(
            f"{_words(type(command).__name__)} was already recorded; it was not done twice.",
            hint="Refresh the screen to see it.",
        )
        self.command = command


def _words(name: str) -> str:
    """``ScanPickup`` -> ``Scan pickup``."""
    out = "".join(f" {ch.lower()}" if ch.isupper() else ch for ch in name).strip()
    return out[:1].upper() + out[1:]


class MessageBus:
    """Runs commands through their handlers and queries in read-only units of work."""

    def __init__(self, uow_factory: UowFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    @property
    def clock(self) -> Clock:
        """The clock handlers see."""
        return self._clock

    def handle(
        self, command: Command[R], actor: SignedInUser | None = None, *, after_commit: bool = True
    ) -> R:
        """Run ``command``'s handler in one transaction with its idempotency key.

        ``after_commit=False`` skips the after-commit step and returns the handler's own
        result: a command replayed from a station's outbox already had its side effects
        (labels printed) at the station, and must not have them twice.

        Raises:
            AlreadyHandled: the key was handled before (by this or another process).
            LabdeskError: whatever the handler refuses; nothing is committed, unless the
                handler itself committed a record of the refusal.
        """
        try:
            fn, then = _HANDLERS[type(command)]
        except KeyError:
            raise TypeError(f"no handler for {type(command).__name__}") from None
        with self._uow() as uow:
            actor_id = actor.id if actor is not None else None
            name = type(command).__name__
            if not uow.commands.claim(command.idempotency_key, name, actor_id, self._clock.now()):
                raise AlreadyHandled(command)
            result = fn(command, HandlerContext(uow, self._clock, actor))
            self.before_commit(uow, command, actor, result)
            uow.commit()
        if then is not None and after_commit:
            result = then(command, result, AfterCommit(self._uow, self._clock, actor))
        return cast(R, result)

    def before_commit(
        self, uow: UnitOfWork, command: Command[Any], actor: SignedInUser | None, result: Any
    ) -> None:
        """Hook run in the command's transaction just before its commit (default: nothing).

        The station's offline bus overrides it to append the command to its outbox in the
        same transaction as the command's local effect.
        """

    def query(
        self, fn: Callable[Concatenate[UnitOfWork, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call ``fn(uow, *args, **kwargs)`` in a unit of work that is rolled back after."""
        with self._uow() as uow:
            return fn(uow, *args, **kwargs)
