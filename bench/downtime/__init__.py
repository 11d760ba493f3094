"""Downtime scenarios (issue 12): replica refresh and size, replay rate, the switch to offline.

Each module exports ``scenarios() -> list[Scenario]``; :func:`scenarios` gathers those that
import (a module whose dependencies are missing is skipped by the caller's ImportError).
"""

from __future__ import annotations

import importlib
from typing import Any

from bench.harness.model import Scenario

MODULES = ("bench.downtime.replica", "bench.downtime.replay", "bench.downtime.switch")


def scenarios() -> list[Scenario[Any]]:
    """Every downtime scenario, replica first."""
    found: list[Scenario[Any]] = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency, not an unbuilt module
                raise
            continue
        found.extend(module.scenarios())
    return found
