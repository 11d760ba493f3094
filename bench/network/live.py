"""The live-update delay: a workstation's listening connection, timed against the commits.

:func:`live_main` holds one connection LISTENing on :data:`labdesk.kernel.changes.CHANNEL`
(as every workstation does) and notes when each payload arrives (wall clock, the same
machine as the stations). The stations note the wall time right after each commit whose
change the feed must announce (``"specimens:<id>"`` after a collection); :func:`delays`
pairs each commit with the first arrival of its payload. After a lost connection the
listener reconnects, as the product's feed does.
"""

from __future__ import annotations

import time
import traceback
from collections import defaultdict
from collections.abc import Iterable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import psycopg
from sqlalchemy import make_url

from labdesk.kernel.changes import CHANNEL, decode

EARLY_S = 0.5
"""A notification may arrive a little before the station noted its commit time."""


def plain_url(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def live_main(url: str, stop: Event, out: Queue[Any]) -> None:
    """Process entry point: LISTEN until ``stop``; hands back ``[(payload, wall time)]``."""
    heard: list[tuple[str, float]] = []
    reconnects = 0
    error = ""
    out.put(("live-ready", "live", 0))
    while not stop.is_set():
        try:
            with psycopg.connect(plain_url(url), autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                while not stop.is_set():
                    for note in conn.notifies(timeout=0.25):
                        heard.append((note.payload, time.time()))
        except psycopg.OperationalError:
            reconnects += 1
            time.sleep(0.2)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"
            break
    out.put(("live-report", "live", (heard, reconnects, error)))


def delays(
    marks: Iterable[tuple[str, float]], heard: Iterable[tuple[str, float]]
) -> tuple[list[float], int]:
    """Milliseconds from each commit to its notification; and how many were never heard."""
    arrivals: dict[str, list[float]] = defaultdict(list)
    for payload, at in heard:
        if decode(payload) is not None:
            arrivals[payload].append(at)
    for times in arrivals.values():
        times.sort()
    found: list[float] = []
    missing = 0
    for payload, committed in marks:
        first = next((t for t in arrivals.get(payload, ()) if t >= committed - EARLY_S), None)
        if first is None:
            missing += 1
        else:
            found.append(max(0.0, first - committed) * 1e3)
    return found, missing
