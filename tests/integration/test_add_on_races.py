"""Issue 13 bad input: two medical assistants add the same test to one tube at once.

Exactly one wins on PostgreSQL (two threads, two connections); the other is told in words
that name the test, and nothing of the loser's attempt stays: one reservation, one order,
one outbound message, one audit entry. Both paths: the patient's pending order of the test,
and a new order for it.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from custody_world import PASSWORD, World
from sqlalchemy import Engine, func, select

from labdesk.adapters.orm.hl7 import outbound_messages
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import LabdeskError
from labdesk.domain.order import Order, OrderedTest, OrderSource, Priority
from labdesk.domain.order import TestStatus as Status
from labdesk.domain.people import Role
from labdesk.seed.builder import ClinicBuilder, Passwords
from labdesk.seed.reference import StaffSpec
from labdesk.station.add_on import add_test_to_specimen

DR = "Dr. Sam Patel"


def second_assistant(world: World) -> None:
    """Another medical assistant at the next chair ("mia")."""
    with world.uow() as uow:
        build = ClinicBuilder(uow, world.clock)
        users = build.staff(
            [StaffSpec("mia", "Mia Novak", Role.MEDICAL_ASSISTANT)],
            passwords=Passwords.SHARED,
            password=PASSWORD,
        )
        world.users["mia"] = build.actor(users["mia"])
        uow.commit()


def pending_tsh(world: World) -> int:
    now = world.clock.now()
    with world.uow() as uow:
        order = Order(
            placer_order_number="EHR-TSH",
            patient_id=world.patient_id,
            ordering_provider=DR,
            priority=Priority.ROUTINE,
            source=OrderSource.HL7,
            ordered_at=now,
            created_at=now,
        )
        uow.orders.add(order)
        uow.orders.flush()
        ot = OrderedTest(order_id=order.id or 0, test_code="TSH", status_changed_at=now)
        uow.orders.add_test(ot)
        uow.commit()
        return ot.id or 0


def race(factory: UnitOfWorkFactory, world: World, accession: str) -> dict[str, str]:
    """Both assistants add TSH at the same moment; who won, and what the other was told."""
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def attempt(who: str) -> None:
        with factory() as uow:
            start.wait()
            try:
                add_test_to_specimen(
                    uow, world.clock, world.users[who], accession, "TSH", requested_by=DR
                )
                uow.commit()
                outcomes[who] = "won"
            except LabdeskError as error:
                outcomes[who] = f"{error.message} {error.hint}"

    threads = [threading.Thread(target=attempt, args=(w,)) for w in ("maria", "mia")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.parametrize("ordered", [True, False], ids=["pending-order", "new-order"])
def test_two_assistants_add_the_same_test_exactly_one_wins_nothing_half_done(
    pg_engine: Engine, clock: FixedClock, ordered: bool
) -> None:
    factory = UnitOfWorkFactory(pg_engine)
    world = World.build(factory, clock)
    second_assistant(world)
    accession = world.specimen(tests=("CMP",), container="SST")
    pending = pending_tsh(world) if ordered else None
    with factory() as uow:
        orders_before = len(uow.orders.active_for_patient(world.patient_id))
    clock.advance(timedelta(minutes=5))

    outcomes = race(factory, world, accession)

    assert sorted(outcomes) == ["maria", "mia"]
    assert list(outcomes.values()).count("won") == 1, outcomes
    (told,) = [text for text in outcomes.values() if text != "won"]
    assert "TSH" in told
    assert "already on this specimen" in told or "just added" in told
    with factory() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        tests = sorted(
            (t.test_code, t.status, t.id) for t in uow.orders.tests_for_specimen(specimen.id or 0)
        )
        reserved = [
            r.test_code for r in uow.add_ons.for_specimen(specimen.id or 0).values() if r.added_on
        ]
        orders_after = len(uow.orders.active_for_patient(world.patient_id))
        added = [e.detail for e in uow.audit.all_in_order() if e.detail.startswith("add-on")]
    with pg_engine.connect() as conn:
        messages = conn.execute(select(func.count()).select_from(outbound_messages)).scalar_one()
    assert [(code, status) for code, status, _ in tests] == [
        ("CMP", Status.COLLECTED),
        ("TSH", Status.COLLECTED),
    ]
    if pending is not None:
        assert tests[1][2] == pending  # the patient's order was the one added
    assert reserved == ["TSH"]
    assert orders_after == orders_before + (0 if ordered else 1)  # no stray order
    assert len(added) == 1
    assert messages == 1  # one OML^O21 for the added test


def test_an_add_on_of_a_test_a_chair_is_collecting_waits_and_is_refused(
    pg_engine: Engine, clock: FixedClock
) -> None:
    """A chair is mid-collection of the pending TSH when the add-on asks for it: the add-on
    waits for that collection (its row lock), then sees TSH drawn and adds nothing."""
    import time

    from sqlalchemy import text, update

    from labdesk.adapters.orm import ordered_tests

    factory = UnitOfWorkFactory(pg_engine)
    world = World.build(factory, clock)
    accession = world.specimen(tests=("CMP",), container="SST")
    pending = pending_tsh(world)
    clock.advance(timedelta(minutes=5))
    outcome: list[str] = []

    def add_on() -> None:
        with factory() as uow:
            try:
                add_test_to_specimen(
                    uow, world.clock, world.users["maria"], accession, "TSH", requested_by=DR
                )
                uow.commit()
                outcome.append("won")
            except LabdeskError as error:
                outcome.append(f"{error.message} {error.hint}")

    with pg_engine.connect() as chair:  # the collection at the chair holds TSH
        chair.execute(
            text("SELECT id FROM ordered_tests WHERE id = :id FOR UPDATE"), {"id": pending}
        )
        thread = threading.Thread(target=add_on)
        thread.start()
        time.sleep(0.5)
        assert not outcome, "the add-on did not wait for the collection"
        chair.execute(
            update(ordered_tests).where(ordered_tests.c.id == pending).values(status="collected")
        )
        chair.commit()
    thread.join(timeout=10)
    assert len(outcome) == 1
    assert "already drawn" in outcome[0]
    with factory() as uow:
        specimen = uow.specimens.by_accession(accession)
        assert specimen is not None
        codes = [t.test_code for t in uow.orders.tests_for_specimen(specimen.id or 0)]
        reserved = uow.add_ons.for_specimen(specimen.id or 0)
    assert codes == ["CMP"]  # nothing was added to the tube
    assert not [r for r in reserved.values() if r.added_on]
