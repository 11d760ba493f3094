"""Errors raised by the benchmark tooling."""

from __future__ import annotations

from labdesk.domain.errors import LabdeskError


class BenchError(LabdeskError):
    """A benchmark could not be set up or run (not a missed target)."""
