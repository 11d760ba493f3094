"""Seams between services and the outside world.

Services are written against these names. There is one storage implementation (SQLAlchemy,
tested on in-memory SQLite in milliseconds and on PostgreSQL in CI), so the unit of work
port is an alias rather than a parallel hierarchy of abstract repositories.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from labdesk.adapters.unit_of_work import SqlAlchemyUnitOfWork
from labdesk.domain.clock import Clock
from labdesk.domain.printing import LabelContent

UnitOfWork = SqlAlchemyUnitOfWork
UowFactory = Callable[[], SqlAlchemyUnitOfWork]

# ---------------------------------------------------------------- printing
# Implemented by the ``printers`` package (printers/spool_adapter.py) and wired in by the
# front ends; the core only sees these shapes. Send failures are PrintDeliveryError
# subclasses (labdesk.domain.printing) whose ``delivery`` tells the spooler what to do.


class PrinterState(Protocol):
    """What a printer says about itself; no answer means not ready."""

    @property
    def ready(self) -> bool:
        """True only when the printer positively reported it can print."""
        ...

    @property
    def summary(self) -> str:
        """One line for a status bar, e.g. ``Not ready: paper out``."""
        ...


class PrinterPort(Protocol):
    """One printer, addressed by URI; opening it does not connect."""

    @property
    def language(self) -> str:
        """What ``send`` takes: ``zpl`` or ``pdf``."""
        ...

    def send(self, payload: bytes, *, preview_png: bytes | None = None) -> None:
        """Deliver one job; raise a PrintDeliveryError subclass on failure.

        Virtual printers that keep a preview beside each job set ``wants_preview = True``
        (read with getattr: optional), so the spooler renders one before sending.
        """
        ...

    def status(self) -> PrinterState:
        """Ask the printer how it is (never raises for printer problems)."""
        ...


PrinterOpener = Callable[[str], PrinterPort]
"""Returns the printer for a URI; raises a PrintDeliveryError for a bad URI."""


class RenderedLabels(Protocol):
    """Printer-ready bytes and a PNG preview of the first label."""

    @property
    def payload(self) -> bytes:
        """Exactly what is sent to the printer."""
        ...

    @property
    def preview_png(self) -> bytes | None:
        """Preview of the first label for screens and virtual printers."""
        ...


class LabelRenderer(Protocol):
    """Lays out and renders specimen labels for one preset and printer language."""

    def render(
        self,
        contents: Sequence[LabelContent],
        preset: str,
        *,
        copies: int = 1,
        language: str = "zpl",
        preview: bool = True,
    ) -> RenderedLabels:
        """Render ``contents`` (each ``copies`` times) on label preset ``preset``.

        ``preview=False`` skips the PNG preview (a few ms a label) on the print path.

        Raises:
            LabdeskError: unknown preset, a label that does not fit, an unknown language.
        """
        ...


__all__ = [
    "Clock",
    "LabelRenderer",
    "PrinterOpener",
    "PrinterPort",
    "PrinterState",
    "RenderedLabels",
    "UnitOfWork",
    "UowFactory",
]
