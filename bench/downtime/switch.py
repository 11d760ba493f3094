"""downtime-switch: from a black-holed server link to the station working offline (≤ 3 s).

Issue 12 item 3 wants the switch within 3 s of the server disappearing, without the window
freezing. The honest measure needs a real server that stops answering, so this scenario
runs on the PostgreSQL benchmark database only: a loopback proxy stands in front of it, the
real heartbeat (``labdesk.downtime.heartbeat``, 1 s interval, 2 s probe deadline) watches
it, and each timed call black-holes the proxy and waits until the mode is OFFLINE. On
SQLite (a single-station install has no server to lose) it reports an error instead of a
made-up number.

The floor is one probe against the healthy server: the cheapest possible "is it there".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.harness.errors import BenchError
from bench.harness.model import Context, Scenario
from labdesk.adapters.net.tcp_proxy import TcpProxy
from labdesk.downtime.heartbeat import Heartbeat, Probe, engine_probe
from labdesk.downtime.mode import Connectivity, StationStatus

SWITCH_TARGET_MS = 3000.0
_GIVE_UP_S = 10.0


@dataclass
class _Mode:
    """Just enough of a StationMode to see the heartbeat's switch (no station file)."""

    connectivity: Connectivity = Connectivity.ONLINE
    offline: threading.Event = field(default_factory=threading.Event)

    @property
    def uow(self) -> Any:  # not used by the heartbeat
        raise NotImplementedError

    @property
    def bus(self) -> Any:  # not used by the heartbeat
        raise NotImplementedError

    def status(self) -> StationStatus:
        return StationStatus(self.connectivity, None, "", 0, 0, None)

    def go_offline(self, reason: str) -> None:
        self.connectivity = Connectivity.OFFLINE
        self.offline.set()

    def resync(self) -> StationStatus:
        self.connectivity = Connectivity.ONLINE
        return self.status()

    def subscribe(self, callback: Callable[[StationStatus], None]) -> Callable[[], None]:
        return lambda: None


@dataclass
class SwitchState:
    """The proxy in front of the benchmark server and a probe through it."""

    proxy: TcpProxy
    probe: Probe
    direct_probe: Probe


def _setup(ctx: Context) -> SwitchState:
    database = ctx.db()
    if not database.postgres:
        raise BenchError(
            "downtime-switch needs the PostgreSQL benchmark database: a SQLite install has "
            "no server to lose (run the bench with a PostgreSQL URL)."
        )
    url = database.engine.url
    raw = url.render_as_string(hide_password=False)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    return SwitchState(proxy, engine_probe(proxy.rewrite_url(raw)), engine_probe(raw))


def _run_once(state: SwitchState, _i: int) -> float:
    """Black-hole the link and wait for OFFLINE; returns the switch time in seconds."""
    state.proxy.forward()
    state.probe()  # the server answers through the proxy before the cut
    mode = _Mode()
    heartbeat = Heartbeat(mode, state.probe, interval_s=1.0, timeout_s=2.0)
    heartbeat.start()
    try:
        cut_at = time.monotonic()
        state.proxy.black_hole()
        if not mode.offline.wait(_GIVE_UP_S):
            raise BenchError(f"the station did not switch offline within {_GIVE_UP_S:g} s")
        return time.monotonic() - cut_at
    finally:
        heartbeat.stop(timeout_s=0.1)
        state.proxy.forward()


def _floor(state: SwitchState, _i: int) -> object:
    state.direct_probe()
    return None


def _teardown(state: SwitchState) -> None:
    state.proxy.close()


def scenarios() -> list[Scenario[Any]]:
    """The switch scenario (PostgreSQL only)."""
    return [
        Scenario(
            name="downtime-switch",
            title="black-holed server → station offline (heartbeat 1 s, probe deadline 2 s)",
            setup=_setup,
            run_once=_run_once,
            floor=_floor,
            target_p95_ms=SWITCH_TARGET_MS,
            per_size=True,
            iterations=3,
            teardown=_teardown,
        )
    ]
