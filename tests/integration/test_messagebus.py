"""The command bus: the work and its idempotency key commit together, once, on each backend."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select

from labdesk.adapters.orm.commands import handled_commands
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import ValidationError
from labdesk.kernel.messagebus import (
    AfterCommit,
    AlreadyHandled,
    Command,
    HandlerContext,
    MessageBus,
    handler,
)
from labdesk.ports import UnitOfWork
from labdesk.station.accession import issue_accession


@dataclass(frozen=True, kw_only=True)
class IssueTestAccession(Command[str]):
    """Test-only: issue one accession (a counter write), or fail after it."""

    fail_after_write: bool = False


@handler(IssueTestAccession)
def _issue(command: IssueTestAccession, ctx: HandlerContext) -> str:
    accession = issue_accession(ctx.uow, ctx.clock)
    if command.fail_after_write:
        raise ValidationError("refused after writing")
    return accession


def _handled(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(handled_commands)).scalar_one())


def _serials(uow: UnitOfWork, clock: FixedClock) -> str:
    return issue_accession(uow, clock)  # a write a query must roll back


def test_a_command_is_done_once_per_key(engine: Engine, clock: FixedClock) -> None:
    bus = MessageBus(UnitOfWorkFactory(engine), clock)
    command = IssueTestAccession()
    first = bus.handle(command)
    with pytest.raises(AlreadyHandled, match="Issue test accession was already recorded"):
        bus.handle(command)
    second = bus.handle(IssueTestAccession())  # a new request: a new key
    assert int(second[2:9]) == int(first[2:9]) + 1, "the replay issued a serial"
    assert _handled(engine) == 2


def test_a_failed_command_leaves_neither_work_nor_key(engine: Engine, clock: FixedClock) -> None:
    bus = MessageBus(UnitOfWorkFactory(engine), clock)
    failing = IssueTestAccession(fail_after_write=True, idempotency_key="k-1")
    with pytest.raises(ValidationError):
        bus.handle(failing)
    assert _handled(engine) == 0
    done = bus.handle(IssueTestAccession(idempotency_key="k-1"))  # the retry may run
    assert int(done[2:9]) == 1, "the failed attempt's serial was committed"


def test_a_query_is_rolled_back(engine: Engine, clock: FixedClock) -> None:
    bus = MessageBus(UnitOfWorkFactory(engine), clock)
    assert bus.query(_serials, clock) == bus.query(_serials, clock)


def test_racing_senders_of_one_key_do_it_once(engine: Engine, clock: FixedClock) -> None:
    bus = MessageBus(UnitOfWorkFactory(engine), clock)
    command = IssueTestAccession(idempotency_key="same-request")
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def send() -> None:
        start.wait()
        try:
            outcomes.append(bus.handle(command))
        except AlreadyHandled:
            outcomes.append("duplicate")

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("duplicate") == 5
    assert _handled(engine) == 1
    assert int(bus.handle(IssueTestAccession())[2:9]) == 2, "a duplicate issued a serial"


@dataclass(frozen=True, kw_only=True)
class IssueThenLookUp(Command[tuple[str, int]]):
    """Test-only: issue an accession, then (after the commit) read the command log."""


def _look_up(command: IssueThenLookUp, accession: str, after: AfterCommit) -> tuple[str, int]:
    with after.uows() as uow:  # a unit of work of its own: the handler's has committed
        seen = uow.commands.handled_at(command.idempotency_key)
    return accession, 0 if seen is None else 1


@handler(IssueThenLookUp, then=_look_up)
def _issue_then(command: IssueThenLookUp, ctx: HandlerContext) -> str:
    return issue_accession(ctx.uow, ctx.clock)


def test_an_after_commit_step_sees_the_committed_work(engine: Engine, clock: FixedClock) -> None:
    bus = MessageBus(UnitOfWorkFactory(engine), clock)
    command = IssueThenLookUp()
    accession, logged = bus.handle(command)
    assert logged == 1, "the step ran before the handler's transaction committed"
    assert int(accession[2:9]) == 1
    with pytest.raises(AlreadyHandled):
        bus.handle(command)
