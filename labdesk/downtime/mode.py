"""Where a station's work goes: to the server (online) or to the station file (offline).

This module is the contract between the pieces of downtime mode (issue 12 item 3):

- the **router** (:mod:`labdesk.downtime.router`) implements :class:`StationMode`: its
  ``uow`` and ``bus`` send every query and command to the server while online, and to the
  replica in the station file while offline, where a command's local effect and its outbox
  entry commit in one transaction;
- the **heartbeat** (:mod:`labdesk.downtime.heartbeat`) watches the server off the UI thread
  and calls :meth:`StationMode.go_offline` when it stops answering, and
  :meth:`StationMode.resync` when it answers again;
- the **screens** (``ui/downtime/``) read :meth:`StationMode.status` and subscribe to its
  changes for the status bar and the offline banner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from labdesk.domain.errors import LabdeskError
from labdesk.kernel.messagebus import MessageBus
from labdesk.ports import UnitOfWork, UowFactory


class Connectivity(StrEnum):
    """Where the station's work goes now."""

    ONLINE = "online"
    """To the server."""
    OFFLINE = "offline"
    """To the replica and the outbox."""
    SYNCING = "syncing"
    """The server answers again; the outbox is being replayed (work still goes locally)."""


@dataclass(frozen=True)
class StationStatus:
    """What the status bar and the banner show."""

    connectivity: Connectivity
    offline_since: datetime | None
    """When the station switched to offline work (None while online)."""
    reason: str
    """Why it is offline, in the user's words ("the server did not answer within 2 s")."""
    pending: int
    """Outbox entries waiting to be sent."""
    conflicts: int
    """Outbox entries the server refused (kept for the reconciliation worklist)."""
    replica_refreshed_at: datetime | None
    """When the replica last caught up with the server (None: never refreshed)."""


class OfflineRefused(LabdeskError):
    """Work that needs the server (the clinic-wide board, admin changes) asked offline."""

    def __init__(self, what: str, since: datetime | None = None) -> None:
        super().__init__(
            f"{what} needs the server, and this station is working offline.",
            hint="Collection, labels, pickup scans and lab receipt keep working; this "
            "comes back by itself when the server answers again.",
        )
        self.since = since


class StationMode(Protocol):
    """The station's switch between the server and the station file."""

    @property
    def uow(self) -> UowFactory:
        """Units of work on the server (online) or on the station file (offline, syncing)."""
        ...

    @property
    def bus(self) -> MessageBus:
        """The bus screens use; offline it also queues each command in the outbox."""
        ...

    def status(self) -> StationStatus:
        """The current status (cheap: no database round trip)."""
        ...

    def go_offline(self, reason: str) -> None:
        """Switch to offline work now (idempotent; safe from any thread)."""
        ...

    def resync(self) -> StationStatus:
        """Replay the outbox, settle the replica, and go online if all was sent.

        Runs on a worker thread (never the UI thread). A refused command stays as a
        conflict and does not keep the station offline; a lost connection does.
        """
        ...

    def subscribe(self, callback: Callable[[StationStatus], None]) -> Callable[[], None]:
        """Call ``callback`` (from any thread) on every status change; returns unsubscribe."""
        ...


class RoutedUowFactory:
    """A ``UowFactory`` that asks ``mode`` on every call where the unit of work goes.

    Screens hold one factory for the app's life; the station's mode decides per call.
    """

    def __init__(self, mode: StationMode) -> None:
        self._mode = mode

    def __call__(self) -> UnitOfWork:
        return self._mode.uow()
