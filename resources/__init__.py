"""Data shipped with LabDesk (test catalog, sounds, images), read via importlib.resources."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def resource(*parts: str) -> Traversable:
    """Return a shipped resource, e.g. ``resource("catalog", "tests.csv")``."""
    node: Traversable = files(__name__)
    for part in parts:
        node = node / part
    return node
