"""The live feed follows the station's mode: the server's changes online, the file's offline.

Fake feeds and a fake mode drive :class:`DowntimeChangeFeed` synchronously, so every
transition is checked in order: which batches reach the screens, which state they show,
and the one full reload after the station is back online.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from labdesk.downtime.live import DowntimeChangeFeed
from labdesk.downtime.mode import Connectivity, StationStatus
from labdesk.kernel.changes import ChangeBatch, FeedState, OnChanges, OnState, Topic

SINCE = datetime(2026, 3, 2, 9, 14, tzinfo=UTC)
ONLINE = StationStatus(Connectivity.ONLINE, None, "", 0, 0, None)
OFFLINE = StationStatus(Connectivity.OFFLINE, SINCE, "the server did not answer", 0, 0, None)
SYNCING = StationStatus(Connectivity.SYNCING, SINCE, "", 2, 0, None)


class FakeFeed:
    """A feed the test speaks through: ``send`` and ``tell`` call the receiver at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.on_changes: OnChanges | None = None
        self.on_state: OnState | None = None
        self.started = 0
        self.stopped = 0
        self.statements = 3

    def start(self, on_changes: OnChanges, on_state: OnState) -> None:
        if self.started:
            raise RuntimeError("this change feed was already started")
        self.started += 1
        self.on_changes, self.on_state = on_changes, on_state

    def stop(self) -> None:
        self.stopped += 1

    def send(self, *topics: Topic) -> None:
        assert self.on_changes is not None
        self.on_changes(ChangeBatch(ids={t: frozenset() for t in topics}))

    def tell(self, state: FeedState) -> None:
        assert self.on_state is not None
        self.on_state(state)


class FakeMode:
    """A mode the test flips; subscribers are called from the flipping thread."""

    def __init__(self, status: StationStatus = ONLINE) -> None:
        self._status = status
        self.subscribers: list[Callable[[StationStatus], None]] = []

    def status(self) -> StationStatus:
        return self._status

    def set(self, status: StationStatus) -> None:
        self._status = status
        for callback in list(self.subscribers):
            callback(status)

    def subscribe(self, callback: Callable[[StationStatus], None]) -> Callable[[], None]:
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)


class Screens:
    """What reaches the screens, in order."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def changes(self, batch: ChangeBatch) -> None:
        self.events.append(batch)

    def state(self, state: FeedState) -> None:
        self.events.append(state)

    def take(self) -> list[object]:
        events, self.events = self.events, []
        return events


class World:
    def __init__(self, status: StationStatus = ONLINE) -> None:
        self.server = FakeFeed("server")
        self.mode = FakeMode(status)
        self.stations: list[FakeFeed] = []
        self.screens = Screens()
        self.feed = DowntimeChangeFeed(
            self.server, self.mode, self._open_station, release=lambda feed: feed.stop()
        )

    def _open_station(self) -> FakeFeed:
        feed = FakeFeed(f"station {len(self.stations) + 1}")
        self.stations.append(feed)
        return feed

    def start(self) -> None:
        self.feed.start(self.screens.changes, self.screens.state)


def _batch(*topics: Topic) -> ChangeBatch:
    return ChangeBatch(ids={t: frozenset() for t in topics})


RESYNC = ChangeBatch(resync=True)


def test_online_the_server_feed_passes_through_and_no_station_feed_runs() -> None:
    world = World()
    world.start()
    assert world.server.started == 1
    assert world.stations == []
    world.server.tell(FeedState.LIVE)
    world.server.send(Topic.SPECIMENS)
    world.server.tell(FeedState.RECONNECTING)  # still online: the pages say so
    assert world.screens.take() == [
        FeedState.LIVE,
        _batch(Topic.SPECIMENS),
        FeedState.RECONNECTING,
    ]


def test_offline_the_station_file_feeds_the_screens_and_the_server_is_muted() -> None:
    world = World()
    world.start()
    world.server.tell(FeedState.LIVE)
    world.screens.take()

    world.mode.set(OFFLINE)
    assert world.feed.offline
    assert len(world.stations) == 1
    station = world.stations[0]
    assert station.started == 1
    assert world.screens.take() == []  # no forced reload: screens keep what they show
    station.tell(FeedState.LIVE)  # already the state shown: nothing new to say
    world.server.tell(FeedState.RECONNECTING)  # the server's feed lost its connection
    world.server.send(Topic.RESULTS)  # (a late batch from the server: the replica has it not)
    station.send(Topic.SPECIMENS, Topic.CUSTODY)  # a collection at the station tab
    assert world.screens.take() == [_batch(Topic.SPECIMENS, Topic.CUSTODY)]
    assert world.feed.statements == 6  # the server's and the station feed's


def test_back_online_lets_the_station_feed_go_and_reloads_everything_once() -> None:
    world = World()
    world.start()
    world.server.tell(FeedState.LIVE)
    world.mode.set(OFFLINE)
    station = world.stations[0]
    station.tell(FeedState.LIVE)
    world.server.tell(FeedState.RECONNECTING)
    world.screens.take()

    world.mode.set(SYNCING)  # replaying: work still goes to the file, and so do the changes
    station.send(Topic.PRINT_JOBS)
    assert world.screens.take() == [_batch(Topic.PRINT_JOBS)]
    assert station.stopped == 0

    world.mode.set(ONLINE)
    assert station.stopped == 1
    assert not world.feed.offline
    # The server's feed is still reconnecting: the pages say so, then everything reloads.
    assert world.screens.take() == [FeedState.RECONNECTING, RESYNC]
    station.send(Topic.SPECIMENS)  # a late batch from the file that was let go
    station.tell(FeedState.STOPPED)
    assert world.screens.take() == []
    world.server.tell(FeedState.LIVE)
    world.server.send(Topic.ORDERS)
    assert world.screens.take() == [FeedState.LIVE, _batch(Topic.ORDERS)]


def test_back_online_with_the_server_feed_live_shows_no_state_change() -> None:
    world = World()
    world.start()
    world.server.tell(FeedState.LIVE)
    world.mode.set(OFFLINE)
    world.stations[0].tell(FeedState.LIVE)
    world.mode.set(ONLINE)
    assert world.screens.take() == [FeedState.LIVE, RESYNC]


def test_each_outage_gets_a_fresh_station_feed() -> None:
    world = World()
    world.start()
    for _ in range(2):
        world.mode.set(OFFLINE)
        world.mode.set(ONLINE)
    assert [feed.started for feed in world.stations] == [1, 1]
    assert [feed.stopped for feed in world.stations] == [1, 1]
    assert world.feed.station_feeds == 2
    world.stations[0].send(Topic.SPECIMENS)  # the first outage's feed: long gone
    assert world.screens.take() == [RESYNC, RESYNC]


def test_a_station_offline_at_start_listens_to_its_file_at_once() -> None:
    world = World(OFFLINE)  # work left in the outbox from the last session
    world.start()
    assert len(world.stations) == 1
    world.server.tell(FeedState.RECONNECTING)
    world.stations[0].tell(FeedState.LIVE)
    world.stations[0].send(Topic.MANIFESTS)
    assert world.screens.take() == [FeedState.LIVE, _batch(Topic.MANIFESTS)]


def test_a_station_file_that_cannot_be_watched_says_so() -> None:
    world = World()

    def broken() -> FakeFeed:
        raise OSError("the station file is gone")

    world.feed = DowntimeChangeFeed(world.server, world.mode, broken)
    world.start()
    world.server.tell(FeedState.LIVE)
    world.mode.set(OFFLINE)
    assert world.screens.take() == [FeedState.LIVE, FeedState.RECONNECTING]


def test_stop_stops_both_feeds_and_the_mode_is_no_longer_followed() -> None:
    world = World()
    world.start()
    world.mode.set(OFFLINE)
    station = world.stations[0]
    station.tell(FeedState.LIVE)
    world.feed.stop()
    world.feed.stop()
    assert (station.stopped, world.server.stopped) == (1, 1)
    assert world.mode.subscribers == []
    station.send(Topic.SPECIMENS)
    assert world.screens.take() == [FeedState.LIVE, FeedState.STOPPED]
    with pytest.raises(RuntimeError, match="already started"):
        world.start()


def test_by_default_the_mode_never_waits_for_a_station_feed_to_stop() -> None:
    """The mode calls its subscribers holding its lock: a slow stop must not block it."""
    release = threading.Event()
    stopped = threading.Event()

    class SlowFeed(FakeFeed):
        def stop(self) -> None:
            release.wait(5)
            stopped.set()

    mode = FakeMode()
    feed = DowntimeChangeFeed(FakeFeed("server"), mode, lambda: SlowFeed("station"))
    screens = Screens()
    feed.start(screens.changes, screens.state)
    mode.set(OFFLINE)
    mode.set(ONLINE)  # returns while the station feed is still stopping
    assert screens.take() == [RESYNC]
    assert not stopped.is_set()
    release.set()
    assert stopped.wait(5)
