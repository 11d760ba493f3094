"""What the screens get from the composition root: config, units of work, clock, live feed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from labdesk.config import Config

if TYPE_CHECKING:
    from labdesk.custody.manifest_print import ManifestPrinter
    from labdesk.domain.clock import Clock
    from labdesk.downtime.mode import StationMode
    from labdesk.kernel.messagebus import MessageBus
    from labdesk.ports import UowFactory
    from labdesk.printing.dto import PrintSetup
    from ui.live import LiveUpdates


@dataclass(frozen=True)
class AppContext:
    """Services' dependencies, handed to widgets instead of the core object itself.

    Only ``ui/app.py`` sees ``labdesk.bootstrap``; widgets depend on this narrow view.
    """

    config: Config
    uow: UowFactory
    clock: Clock
    database_description: str
    print_setup: PrintSetup | None = None
    """How this workstation prints labels (printer ports from ``printers``); None: no printing."""
    manifest_printer: ManifestPrinter | None = None
    """Prints courier manifests on the station's document printer; None: not set up."""
    live: LiveUpdates | None = None
    """The app's change feed on the UI thread (``ui/live.py``); None: screens poll instead."""

    mode: StationMode | None = None
    """Downtime switch of a PostgreSQL station (``uow`` then routes through it); None:
    a single-station SQLite install, which works as it always did."""

    @property
    def bus(self) -> MessageBus:
        """Where screens send commands and queries (never a unit of work of their own)."""
        from labdesk.kernel.messagebus import MessageBus

        if self.mode is not None:
            return self.mode.bus

        return MessageBus(self.uow, self.clock)
