"""The live-update delay: a workstation's listening connection, timed against the commits.

:func:`live_main` holds one connection LISTENing on :data:`labdesk.kernel.changes.CHANNEL`
(as every workstation does) and notes when each payload arrives (wall clock, the same
machine as the stations). The stations note the wall time they got the answer of each command whose
change the feed must announce (``"specimens:<id>"`` after a collection); :func:`delays`
pairs each commit with the first arrival of its payload. After a lost connection the
listener reconnects, as the product's feed does.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import psycopg
from sqlalchemy import make_url

from labdesk.kernel.changes import CHANNEL, decode


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
    """Milliseconds from each mark to its payload's first arrival; and how many never came.

    A mark names a row the marked command created (``specimens:<id>`` of a new tube), so
    the first arrival of that payload is the notification of that commit (later ones are
    later changes of the same row). It may arrive before the station noted its answer (the
    commit notifies before the command's after-commit work): that delay counts as 0.
    """
    first: dict[str, float] = {}
    for payload, at in heard:
        if decode(payload) is not None and (payload not in first or at < first[payload]):
            first[payload] = at
    found: list[float] = []
    missing = 0
    for payload, answered in marks:
        arrived = first.get(payload)
        if arrived is None:
            missing += 1
        else:
            found.append(max(0.0, arrived - answered) * 1e3)
    return found, missing
