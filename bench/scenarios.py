"""Every benchmark scenario, in the order ``labdesk bench`` runs and reports them.

:data:`SCENARIOS` are the scenarios over the Qt-free core (:mod:`bench.core`) and the cold
start (:mod:`bench.ui.coldstart`, which only starts processes). The printing scenarios
(:mod:`bench.printing`) and the on-screen station (:mod:`bench.ui.station_screen`) follow
them; they are imported only when the list is asked for, so a board or station worker
process that imports :mod:`bench` does not load reportlab or Qt, and a scenario whose
imports fail is skipped with a warning instead of taking the whole run down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bench.core import board, custody_scan, custody_verify, hl7_ingest, lookups, station
from bench.harness.errors import BenchError
from bench.harness.model import Scenario
from bench.ui import coldstart

logger = logging.getLogger(__name__)

SCENARIOS: list[Scenario[Any]] = [
    *lookups.SCENARIOS,
    *hl7_ingest.SCENARIOS,
    custody_scan.SCENARIO,
    custody_verify.verify_scenario(),
    *station.SCENARIOS,
    *board.SCENARIOS,
    coldstart.SCENARIO,
]
"""The core's scenarios and the cold start, in the order they run and are reported."""


def _manifest() -> list[Scenario[Any]]:
    from bench.printing import manifest

    return manifest.scenarios()


def _labels() -> list[Scenario[Any]]:
    from bench.printing import labels

    return labels.scenarios()


def _station_screen() -> list[Scenario[Any]]:
    from bench.ui import station_screen

    return station_screen.scenarios()


def _live_update() -> list[Scenario[Any]]:
    from bench.ui import idle

    return idle.scenarios()


def _downtime() -> list[Scenario[Any]]:
    from bench import downtime

    return downtime.scenarios()


EXTRAS: tuple[tuple[str, Callable[[], list[Scenario[Any]]]], ...] = (
    ("custody", _manifest),
    ("printers", _labels),
    ("station-screen", _station_screen),
    ("live-update", _live_update),
    ("downtime", _downtime),
)
"""Scenarios that need reportlab, the printers package or Qt, by group, in report order."""


def extra_scenarios() -> list[Scenario[Any]]:
    """The :data:`EXTRAS` scenarios (a group that cannot be imported is skipped)."""
    found: list[Scenario[Any]] = []
    for group, load in EXTRAS:
        try:
            found.extend(load())
        except ImportError as exc:
            logger.warning("bench scenarios %s unavailable: %s", group, exc)
    return found


def all_scenarios() -> list[Scenario[Any]]:
    """:data:`SCENARIOS` followed by the extras."""
    return [*SCENARIOS, *extra_scenarios()]


def by_name(names: list[str] | tuple[str, ...]) -> list[Scenario[Any]]:
    """The registered scenarios called ``names``, in registry order.

    Raises:
        BenchError: for a name that is not registered.
    """
    registered = all_scenarios()
    known = {s.name for s in registered}
    unknown = sorted(set(names) - known)
    if unknown:
        raise BenchError(
            f"No benchmark scenario called {', '.join(unknown)}.",
            hint=f"Scenarios: {', '.join(sorted(known))}.",
        )
    return [s for s in registered if s.name in names]
