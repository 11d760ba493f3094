"""Helpers shared by the command modules."""

from __future__ import annotations

from labdesk.bootstrap import Core, bootstrap
from labdesk.config import Config, load_config


def open_core(config: Config | None = None) -> Core:
    """Load the config and open the core (SQLite is upgraded at start)."""
    return bootstrap(config or load_config())
