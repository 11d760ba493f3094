"""Change payloads and coalescing (no database): what a feed hands on, and when."""

from __future__ import annotations

import logging

import pytest

from labdesk.adapters.change_feed import pg
from labdesk.adapters.change_feed.pg import PgChangeFeed, conninfo_from_url
from labdesk.adapters.database import parse_url
from labdesk.kernel.changes import (
    CHANNEL,
    ChangeBatch,
    Coalescer,
    Topic,
    decode,
    encode,
)


@pytest.mark.parametrize("topic", list(Topic))
def test_every_topic_round_trips(topic: Topic) -> None:
    assert decode(encode(topic, 12345)) == (topic, 12345)


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "junk",
        "patients",
        "patients:",
        ":12",
        "patients:-1",
        "patients:1.5",
        "patients:12a",
        "Patients:12",
        "nurses:12",
        "patients:" + "9" * 19,  # above the largest bigint
        "patients:" + "1" * 25,
        "patients:1:2",
        "Smith, John, 1980-01-02",
    ],
)
def test_foreign_and_malformed_payloads_decode_to_none(payload: str) -> None:
    assert decode(payload) is None


def test_the_largest_id_is_accepted() -> None:
    assert decode(f"results:{2**63 - 1}") == (Topic.RESULTS, 2**63 - 1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_changes_within_a_window_come_as_one_batch() -> None:
    clock = FakeClock()
    delivered: list[ChangeBatch] = []
    coalescer = Coalescer(delivered.append, window_s=0.25, now=clock)
    assert coalescer.seconds_to_flush() is None
    assert not coalescer.flush_due()

    coalescer.add(Topic.RESULTS, 1)
    clock.now += 0.125
    coalescer.add(Topic.RESULTS, 2)
    coalescer.add(Topic.ACKS, 7)
    assert coalescer.seconds_to_flush() == pytest.approx(0.125)
    assert not coalescer.flush_due()
    clock.now += 0.125
    assert coalescer.flush_due()
    assert delivered == [
        ChangeBatch(ids={Topic.RESULTS: frozenset({1, 2}), Topic.ACKS: frozenset({7})})
    ]
    assert coalescer.seconds_to_flush() is None

    clock.now += 5
    coalescer.add(Topic.SPECIMENS)  # ids unknown (SQLite)
    clock.now += 0.25
    assert coalescer.flush_due()
    assert delivered[-1] == ChangeBatch(ids={Topic.SPECIMENS: frozenset()})
    assert delivered[-1].touches([Topic.SPECIMENS])
    assert not delivered[-1].touches([Topic.PRINT_JOBS])


def test_a_burst_gives_one_batch_per_window() -> None:
    clock = FakeClock()
    delivered: list[ChangeBatch] = []
    coalescer = Coalescer(delivered.append, window_s=0.2, now=clock)
    for n in range(100):  # 100 results over one second, the feed flushing as it goes
        coalescer.add(Topic.RESULTS, n)
        clock.now += 0.01
        coalescer.flush_due()
    clock.now += 0.2
    coalescer.flush_due()
    assert len(delivered) <= 6
    assert set().union(*(b.ids[Topic.RESULTS] for b in delivered)) == set(range(100))


def test_a_resync_touches_every_topic() -> None:
    clock = FakeClock()
    delivered: list[ChangeBatch] = []
    coalescer = Coalescer(delivered.append, window_s=0.25, now=clock)
    coalescer.add_resync()
    clock.now += 0.25
    assert coalescer.flush_due()
    (batch,) = delivered
    assert batch.resync
    assert batch.topics == frozenset(Topic)
    assert batch.touches([Topic.PRINT_JOBS])


def _feed() -> PgChangeFeed:
    return PgChangeFeed("host=127.0.0.1 port=1", window_s=0.0)


def test_the_listener_ignores_junk_and_logs_it_once_briefly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed = _feed()
    delivered: list[ChangeBatch] = []
    coalescer = Coalescer(delivered.append, window_s=0.0)
    secret = "Smith, John, 1980-01-02, MRN 00123456, HIV positive"
    with caplog.at_level(logging.WARNING):
        feed._note(CHANNEL, secret, coalescer)
        feed._note(CHANNEL, "junk", coalescer)
        feed._note("other_channel", "patients:1", coalescer)
        feed._note(CHANNEL, "patients:2", coalescer)
    assert feed.ignored == 3
    assert len(caplog.records) == 1  # rate-limited
    assert secret[:40] in caplog.text
    assert "HIV" not in caplog.text
    assert coalescer.flush_due()
    assert delivered == [ChangeBatch(ids={Topic.PATIENTS: frozenset({2})})]


def test_conninfo_keeps_the_url_parts_and_options() -> None:
    url = parse_url(
        "postgresql://lab:p%40ss%20w@db.example:6543/labdesk?sslmode=verify-full&application_name=x"
    )
    info = conninfo_from_url(url)
    assert "host=db.example" in info
    assert "port=6543" in info
    assert "dbname=labdesk" in info
    assert "user=lab" in info
    assert "sslmode=verify-full" in info
    assert "password='p@ss w'" in info


def test_a_silently_dead_listener_is_noticed_within_ten_seconds_by_default() -> None:
    """The issue's bound: silence for ``KEEPALIVE_S``, then a probe that may take
    ``PROBE_TIMEOUT_S`` (``test_change_feed_pg.py`` black-holes a real connection)."""
    feed = PgChangeFeed("host=127.0.0.1")
    assert feed._keepalive_s + feed._probe_timeout_s < 10.0
    assert pg.TCP_KEEPALIVES["tcp_user_timeout"] < 10_000  # a vanished peer, in ms
