"""Two stations collecting the same ordered test at the same moment (PostgreSQL).

Both read the test as "ordered" under READ COMMITTED unless the collection locks it first.
Here the first station's transaction holds the test (it is mid-collection) when the second
station sends its collection: the second must wait, then see the test collected and be
refused, so one tube is recorded, never two (what two stations replaying an outage at once
also do).
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, func, select, text, update
from station_world import add_order, build_station_world

from labdesk.adapters.orm import ordered_tests, specimens
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import LabdeskError
from labdesk.kernel.messagebus import MessageBus
from labdesk.station.commands import CollectSpecimens, OpenEncounterByWristband
from labdesk.station.dto import ContainerCollection
from labdesk.station.encounter import load_encounter


def test_a_second_collection_of_the_same_test_waits_and_is_refused(
    pg_engine: Engine, clock: FixedClock
) -> None:
    uows = UnitOfWorkFactory(pg_engine)
    world = build_station_world(uows, clock)
    [test_id] = add_order(uows, clock, world.patients["ana"], ("CBC",))
    bus = MessageBus(uows, clock)
    eid = bus.handle(
        OpenEncounterByWristband(scanned="WB-M200001", station_code=world.station_code), world.ma
    )
    view = bus.query(load_encounter, world.ma, eid)
    command = CollectSpecimens(
        encounter_id=eid,
        containers=tuple(
            ContainerCollection(c.container_code, c.ordered_test_ids, volume_ml=c.nominal_volume_ml)
            for c in view.plan.containers
        ),
    )
    outcome: list[object] = []

    def second_station() -> None:
        try:
            outcome.append(bus.handle(command, world.ma))
        except LabdeskError as exc:
            outcome.append(exc)

    with pg_engine.connect() as first:  # the first station, mid-collection
        first.execute(
            text("SELECT id FROM ordered_tests WHERE id = :id FOR UPDATE"), {"id": test_id}
        )
        thread = threading.Thread(target=second_station)
        thread.start()
        time.sleep(0.5)
        assert not outcome, "the second collection did not wait for the first"
        first.execute(
            update(ordered_tests).where(ordered_tests.c.id == test_id).values(status="collected")
        )
        first.commit()
    thread.join(timeout=10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], LabdeskError)
    assert "already collected" in outcome[0].message
    with pg_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(specimens)) == 0
