"""The heartbeat refreshes the replica soon after the station's own writes, not only hourly.

A visit opened a few seconds before the server goes away must be in the station file, or
its collection cannot go on offline.
"""

from __future__ import annotations

from collections.abc import Callable

from labdesk.downtime.heartbeat import Heartbeat
from labdesk.downtime.mode import Connectivity, StationStatus


class OnlineMode:
    """Only what the heartbeat reads of a station that stays online."""

    def status(self) -> StationStatus:
        return StationStatus(Connectivity.ONLINE, None, "", 0, 0, None)

    def go_offline(self, reason: str) -> None:  # pragma: no cover - the probe never fails
        raise AssertionError(reason)


def _heartbeat(changed: Callable[[], bool], refreshes: list[int], gap_s: float) -> Heartbeat:
    return Heartbeat(
        OnlineMode(),  # type: ignore[arg-type]
        lambda: None,
        refresh=lambda: refreshes.append(1),
        refresh_every_s=3600.0,
        changed=changed,
        changed_gap_s=gap_s,
    )


def test_a_write_brings_the_next_refresh_forward() -> None:
    flags = [False]
    refreshes: list[int] = []
    beat = _heartbeat(lambda: flags.pop() if flags else False, refreshes, gap_s=0.0)
    beat.beat()  # the first beat refreshes (nothing done yet)
    beat.beat()
    assert len(refreshes) == 1  # idle: no query until the hour is up
    flags.append(True)  # the station opened a visit on the server
    beat.beat()
    assert len(refreshes) == 2
    beat.beat()
    assert len(refreshes) == 2


def test_writes_in_a_burst_wait_for_the_gap() -> None:
    refreshes: list[int] = []
    beat = _heartbeat(lambda: True, refreshes, gap_s=3600.0)
    for _ in range(5):
        beat.beat()
    assert len(refreshes) == 1  # only the first; the rest wait for the gap
