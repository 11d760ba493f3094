"""Live updates end to end, on SQLite and PostgreSQL: a commit through one engine's bus
reaches a change feed with its own connection; rollbacks, bursts and junk.

Waits use timeouts of a few seconds (the target is 1 s, not asserted here); the measured
commit-to-delivery delays are reported by the issue, not by a timed test.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, Engine, text

from labdesk.adapters.change_feed import (
    InertChangeFeed,
    SqliteChangeFeed,
    open_change_feed,
    triggers,
)
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.custody.commands import ScanPickup, StartPickup
from labdesk.domain.clock import FixedClock
from labdesk.domain.result import AckMeaning
from labdesk.kernel.changes import COALESCE_S, ChangeBatch, ChangeFeed, FeedState, Topic
from labdesk.kernel.messagebus import MessageBus
from labdesk.printing.commands import PrintTestLabel
from labdesk.results.commands import AcknowledgeResults
from labdesk.station.commands import PlaceOrder

WAIT_S = 5.0


class Recorder:
    """Collects what a feed delivers, and waits for it."""

    def __init__(self, *, sqlite: bool = False) -> None:
        self.sqlite = sqlite
        """SQLite feeds report topics without ids."""
        self.batches: list[ChangeBatch] = []
        self.states: list[FeedState] = []
        self._cond = threading.Condition()

    def on_changes(self, batch: ChangeBatch) -> None:
        with self._cond:
            self.batches.append(batch)
            self._cond.notify_all()

    def on_state(self, state: FeedState) -> None:
        with self._cond:
            self.states.append(state)
            self._cond.notify_all()

    def wait(self, until: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        with self._cond:
            return self._cond.wait_for(until, timeout)

    def ids(self, topic: Topic) -> set[int]:
        with self._cond:
            return {i for b in self.batches for i in b.ids.get(topic, frozenset())}

    def seen(self, topic: Topic) -> bool:
        with self._cond:
            return any(topic in b.ids for b in self.batches)

    def saw(self, topic: Topic, row_id: int | None = None) -> Callable[[], bool]:
        """A condition: ``topic`` arrived (with ``row_id`` on PostgreSQL, which knows ids)."""

        def check() -> bool:
            if not any(topic in b.ids for b in self.batches):
                return False
            if row_id is None or self.sqlite:
                return True
            return any(row_id in b.ids.get(topic, frozenset()) for b in self.batches)

        return check


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def listen(engine: Engine) -> Iterator[Callable[[], Recorder]]:
    """Start a feed on ``engine``'s database (its own connection) and wait until LIVE."""
    feeds: list[ChangeFeed] = []

    def start() -> Recorder:
        feed = open_change_feed(_url(engine))
        recorder = Recorder(sqlite=engine.dialect.name == "sqlite")
        feed.start(recorder.on_changes, recorder.on_state)
        feeds.append(feed)
        assert recorder.wait(lambda: FeedState.LIVE in recorder.states)
        return recorder

    yield start
    for feed in feeds:
        feed.stop()


# ---------------------------------------------------------------- through the bus


def test_a_new_order_reaches_another_station(
    station_world: object,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    listen: Callable[[], Recorder],
) -> None:
    world = station_world
    seen = listen()
    bus = MessageBus(uow_factory, clock)
    order_id = bus.handle(
        PlaceOrder(
            patient_id=world.patients["ben"],  # type: ignore[attr-defined]
            test_codes=("CBC",),
            ordering_provider="Dr. Live",
        ),
        world.ma,  # type: ignore[attr-defined]
    )
    assert seen.wait(seen.saw(Topic.ORDERS, order_id))


def test_a_pickup_scan_reaches_another_station(
    custody_world: object, listen: Callable[[], Recorder]
) -> None:
    world = custody_world
    accession = world.specimen()  # type: ignore[attr-defined]
    courier = world.users["chris"]  # type: ignore[attr-defined]
    bus = MessageBus(world.uow, world.clock)  # type: ignore[attr-defined]
    manifest = bus.handle(StartPickup(site_code="CLINIC"), courier)
    seen = listen()
    bus.handle(ScanPickup(manifest_number=manifest.number, scanned=accession), courier)
    specimen_id = _specimen_id(world.uow, accession)  # type: ignore[attr-defined]
    assert seen.wait(seen.saw(Topic.CUSTODY, specimen_id))
    assert seen.wait(seen.saw(Topic.MANIFESTS, _manifest_id(world.uow, manifest.number)))  # type: ignore[attr-defined]
    assert seen.wait(seen.saw(Topic.SPECIMENS, specimen_id))


def _manifest_id(uow: UnitOfWorkFactory, number: str) -> int:
    with uow() as u:
        found = u.session.execute(  # type: ignore[attr-defined]
            text("SELECT id FROM manifests WHERE number = :n"), {"n": number}
        )
        return int(found.scalar_one())


def _specimen_id(uow: UnitOfWorkFactory, accession: str) -> int:
    with uow() as u:
        specimen = u.specimens.by_accession(accession)
        assert specimen is not None
        assert specimen.id is not None
        return specimen.id


def test_a_stored_result_and_its_acknowledgement_reach_another_station(
    hl7_world: object, listen: Callable[[], Recorder]
) -> None:
    hl7 = sys.modules["hl7_world"]
    world = hl7_world
    seen = listen()
    code, _ = world.ingest(  # type: ignore[attr-defined]
        hl7.oru("LIVE1", hl7.group("K", "F", hl7.obx("K", "4.1", units="mmol/L")))
    )
    assert code == "AA"
    assert seen.wait(seen.saw(Topic.RESULTS))
    test_id = world.tests["K"]  # type: ignore[attr-defined]
    clinician = world.users[hl7.Role.CLINICIAN]  # type: ignore[attr-defined]
    bus = MessageBus(world.uow, world.clock)  # type: ignore[attr-defined]
    bus.handle(
        AcknowledgeResults(ordered_test_ids=(test_id,), meaning=AckMeaning.REVIEWED), clinician
    )
    assert seen.wait(seen.saw(Topic.ACKS, test_id))


def test_a_print_job_state_reaches_another_station(
    spool_world: object,
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    listen: Callable[[], Recorder],
) -> None:
    spool = sys.modules["spool_world"]
    seen = listen()
    bus = MessageBus(uow_factory, clock)
    row = bus.handle(
        PrintTestLabel(setup=spool.make_setup(), printer_uri="tcp://127.0.0.1:1"),
        spool_world.admin,  # type: ignore[attr-defined]
    )
    assert seen.wait(seen.saw(Topic.PRINT_JOBS, row.id))


# ---------------------------------------------------------------- the triggers


def test_every_trigger_is_installed_and_sqlite_has_its_counters(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'change_feed_%'"
        expected = set(triggers.pg_trigger_names())
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'change_feed_%'"
        expected = set(triggers.sqlite_trigger_names())
    with engine.connect() as conn:
        names = {row[0] for row in conn.execute(text(sql))}
        counters = dict(conn.execute(text("SELECT topic, seq FROM change_counters")).all())
    assert names == expected
    if engine.dialect.name == "postgresql":
        assert counters == {}  # no hot row: PostgreSQL notifies instead
    else:
        assert counters == {topic.value: 0 for topic in Topic}


# ---------------------------------------------------------------- what is not announced


def _insert_patient(conn: Connection, mrn: str) -> int:
    row = conn.execute(
        text(
            "INSERT INTO patients (mrn, family_name, given_name, name_key, birth_date, sex, "
            "created_at) VALUES (:mrn, 'Live', 'Test', 'live test', :born, 'F', :at) "
            "RETURNING id"
        ),
        {"mrn": mrn, "born": date(1990, 1, 1), "at": datetime.now(UTC)},
    )
    return int(row.scalar_one())


def test_a_rolled_back_change_is_not_announced(
    engine: Engine, listen: Callable[[], Recorder]
) -> None:
    seen = listen()
    with engine.connect() as conn:
        rolled_back = _insert_patient(conn, "RB00001")
        conn.rollback()
    time.sleep(1.0)  # several polls and coalescing windows
    assert seen.batches == []
    with engine.begin() as conn:
        committed = _insert_patient(conn, "RB00002")
    assert seen.wait(seen.saw(Topic.PATIENTS, committed))
    assert rolled_back not in seen.ids(Topic.PATIENTS)
    assert seen.states == [FeedState.LIVE]


def test_a_burst_of_100_results_gives_a_few_batches(
    engine: Engine, listen: Callable[[], Recorder]
) -> None:
    with engine.begin() as conn:
        patient = _insert_patient(conn, "BURST01")
    seen = listen()
    started = time.monotonic()
    ids = []
    for n in range(100):
        with engine.begin() as conn:
            ids.append(
                conn.execute(
                    text(
                        "INSERT INTO results (observation_code, observation_name, value, "
                        "units, reference_range, status, received_at, message_id) VALUES "
                        "('K', 'Potassium', :v, '', '', 'F', :at, '') RETURNING id"
                    ),
                    {"v": str(n), "at": datetime.now(UTC)},
                ).scalar_one()
            )
    elapsed = time.monotonic() - started
    assert patient
    if engine.dialect.name == "postgresql":
        assert seen.wait(lambda: seen.ids(Topic.RESULTS) >= set(ids))
    else:
        assert seen.wait(seen.saw(Topic.RESULTS))
    time.sleep(0.5)  # the last window closes
    # One batch per coalescing window at most (plus the window still open at the start
    # and the end), however many rows: 100 commits without coalescing would be 100.
    assert len(seen.batches) <= elapsed / COALESCE_S + 2, (len(seen.batches), elapsed)
    assert len(seen.batches) < 100


def test_stop_is_prompt_and_idempotent(engine: Engine) -> None:
    feed = open_change_feed(_url(engine))
    recorder = Recorder()
    feed.start(recorder.on_changes, recorder.on_state)
    assert recorder.wait(lambda: FeedState.LIVE in recorder.states)
    started = time.monotonic()
    feed.stop()
    feed.stop()
    assert time.monotonic() - started < 1.5
    assert recorder.states[-1] is FeedState.STOPPED
    with pytest.raises(RuntimeError, match="already started"):
        feed.start(recorder.on_changes, recorder.on_state)


# ---------------------------------------------------------------- SQLite specifics


WRITER = """
import sys
from datetime import UTC, date, datetime
import sqlite3
conn = sqlite3.connect(sys.argv[1])
conn.execute(
    "INSERT INTO patients (mrn, family_name, given_name, name_key, birth_date, sex, created_at)"
    " VALUES ('SUB0001', 'Other', 'Process', 'other process', '1990-01-01', 'F', ?)",
    (datetime.now(UTC).isoformat(),),
)
conn.commit()
conn.close()
"""


def test_sqlite_sees_a_commit_by_another_process(
    sqlite_engine: Engine, listen_sqlite: Callable[[], tuple[Recorder, SqliteChangeFeed]]
) -> None:
    seen, _feed = listen_sqlite()
    path = sqlite_engine.url.database
    assert path
    subprocess.run([sys.executable, "-c", WRITER, path], check=True, timeout=30)
    assert seen.wait(seen.saw(Topic.PATIENTS))
    assert set(seen.batches[-1].ids) == {Topic.PATIENTS}


def test_an_idle_sqlite_feed_runs_no_sql(
    sqlite_engine: Engine, listen_sqlite: Callable[[], tuple[Recorder, SqliteChangeFeed]]
) -> None:
    seen, feed = listen_sqlite()
    before = feed.statements
    time.sleep(2.0)
    assert feed.statements == before
    with sqlite_engine.begin() as conn:  # a second engine on the same file
        _insert_patient(conn, "IDLE001")
    assert seen.wait(seen.saw(Topic.PATIENTS))
    assert feed.statements > before


@pytest.fixture
def listen_sqlite(
    sqlite_engine: Engine,
) -> Iterator[Callable[[], tuple[Recorder, SqliteChangeFeed]]]:
    feeds: list[SqliteChangeFeed] = []

    def start() -> tuple[Recorder, SqliteChangeFeed]:
        feed = open_change_feed(_url(sqlite_engine))
        assert isinstance(feed, SqliteChangeFeed)
        recorder = Recorder(sqlite=True)
        feed.start(recorder.on_changes, recorder.on_state)
        feeds.append(feed)
        assert recorder.wait(lambda: FeedState.LIVE in recorder.states)
        return recorder, feed

    yield start
    for feed in feeds:
        feed.stop()


def test_in_memory_sqlite_gets_a_feed_that_says_it_does_nothing() -> None:
    feed = open_change_feed("sqlite://")
    assert isinstance(feed, InertChangeFeed)
    assert "in-memory" in feed.reason or ":memory:" in feed.reason
    recorder = Recorder()
    feed.start(recorder.on_changes, recorder.on_state)
    feed.stop()
    assert recorder.states == [FeedState.LIVE]
