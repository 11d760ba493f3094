"""The PostgreSQL change feed and pool against a broken network (a proxy the test owns).

The shared PostgreSQL server is never stopped: ``tcp_proxy.TcpProxy`` stands in front of
it and cuts, refuses or black-holes the connections instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, make_url, text
from tcp_proxy import TcpProxy
from test_change_feed import Recorder

from labdesk.adapters.change_feed import PgChangeFeed, open_change_feed
from labdesk.adapters.change_feed.pg import conninfo_from_url
from labdesk.adapters.database import make_engine
from labdesk.adapters.unit_of_work import UnitOfWorkFactory
from labdesk.domain.clock import FixedClock
from labdesk.domain.errors import StorageError
from labdesk.kernel.changes import CHANNEL, FeedState, Topic
from labdesk.kernel.messagebus import MessageBus


@pytest.fixture
def proxy(pg_engine: Engine) -> Iterator[TcpProxy]:
    url = pg_engine.url
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


def _proxied_url(pg_engine: Engine, proxy: TcpProxy) -> str:
    return proxy.rewrite_url(pg_engine.url.render_as_string(hide_password=False))


def _start(feed: PgChangeFeed) -> Recorder:
    recorder = Recorder()
    feed.start(recorder.on_changes, recorder.on_state)
    assert recorder.wait(lambda: FeedState.LIVE in recorder.states)
    return recorder


def _notify(engine: Engine, payload: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})


def test_foreign_and_malformed_payloads_are_ignored_and_logged_briefly(
    pg_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    feed = open_change_feed(pg_engine.url.render_as_string(hide_password=False))
    assert isinstance(feed, PgChangeFeed)
    seen = _start(feed)
    try:
        with caplog.at_level(logging.WARNING, "labdesk.adapters.change_feed.pg"):
            with pg_engine.connect() as conn:
                conn.execute(text(f"NOTIFY {CHANNEL}, 'junk'"))
                conn.commit()
            _notify(pg_engine, "patients:" + "9" * 30)
            _notify(pg_engine, "Smith, John 1980-01-02 " + "x" * 100)
            _notify(pg_engine, "patients:7")  # ours, after the junk
            assert seen.wait(seen.saw(Topic.PATIENTS, 7))
        assert feed.ignored == 3
        assert seen.ids(Topic.PATIENTS) == {7}
        assert seen.states == [FeedState.LIVE]
        logged = [r.getMessage() for r in caplog.records]
        assert len(logged) == 1  # rate-limited
        assert "junk" in logged[0]
        assert "x" * 50 not in caplog.text
    finally:
        feed.stop()


def test_a_cut_connection_reconnects_and_resyncs(pg_engine: Engine, proxy: TcpProxy) -> None:
    feed = PgChangeFeed(conninfo_from_url(make_url(_proxied_url(pg_engine, proxy))))
    seen = _start(feed)
    try:
        proxy.cut()
        assert seen.wait(lambda: FeedState.RECONNECTING in seen.states)
        assert seen.wait(lambda: seen.states[-1] is FeedState.LIVE)
        assert seen.wait(lambda: any(b.resync for b in seen.batches))
        assert seen.states == [FeedState.LIVE, FeedState.RECONNECTING, FeedState.LIVE]
        assert feed.connects == 2
        _notify(pg_engine, "results:5")  # listening again on the new connection
        assert seen.wait(seen.saw(Topic.RESULTS, 5))
    finally:
        feed.stop()


def test_a_refused_server_is_retried_until_it_is_back(pg_engine: Engine, proxy: TcpProxy) -> None:
    feed = PgChangeFeed(
        conninfo_from_url(make_url(_proxied_url(pg_engine, proxy))), backoff_s=(0.1, 0.4)
    )
    seen = _start(feed)
    try:
        proxy.refuse()
        assert seen.wait(lambda: FeedState.RECONNECTING in seen.states)
        time.sleep(0.6)  # a few refused attempts
        proxy.forward()
        assert seen.wait(lambda: seen.states[-1] is FeedState.LIVE)
        assert seen.wait(lambda: any(b.resync for b in seen.batches))
        assert seen.states == [FeedState.LIVE, FeedState.RECONNECTING, FeedState.LIVE]
    finally:
        feed.stop()


def test_a_black_holed_connection_is_detected_by_the_keepalive(
    pg_engine: Engine, proxy: TcpProxy
) -> None:
    feed = PgChangeFeed(
        conninfo_from_url(make_url(_proxied_url(pg_engine, proxy))),
        keepalive_s=0.5,
        probe_timeout_s=0.5,
        connect_timeout_s=2,
        backoff_s=(0.1, 0.2),
    )
    seen = _start(feed)
    try:
        proxy.black_hole()
        started = time.monotonic()
        assert seen.wait(lambda: FeedState.RECONNECTING in seen.states, timeout=5)
        detected = time.monotonic() - started
        assert detected < 3, detected  # keepalive_s + probe_timeout_s, with slack
        proxy.forward()
        assert seen.wait(lambda: seen.states[-1] is FeedState.LIVE, timeout=8)
        assert seen.wait(lambda: any(b.resync for b in seen.batches))
    finally:
        started = time.monotonic()
        feed.stop()
        assert time.monotonic() - started < 1.5


def test_the_pool_recovers_after_the_server_drops_its_connections(
    pg_engine: Engine, proxy: TcpProxy, clock: FixedClock
) -> None:
    engine = make_engine(_proxied_url(pg_engine, proxy))
    bus = MessageBus(UnitOfWorkFactory(engine), clock)

    def answer(uow: object) -> int:
        return int(uow.session.execute(text("SELECT 41 + 1")).scalar_one())  # type: ignore[attr-defined]

    try:
        assert bus.query(answer) == 42
        assert engine.pool.checkedin() >= 1  # a pooled connection the cut will kill
        proxy.cut()
        assert bus.query(answer) == 42  # pre-ping replaced the dead connection
        proxy.refuse()
        with pytest.raises(StorageError):
            bus.query(answer)
        proxy.forward()
        assert bus.query(answer) == 42
    finally:
        engine.dispose()
