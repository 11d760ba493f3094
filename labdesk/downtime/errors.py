"""What can go wrong with blocks, the outbox and replay, in words a user can act on."""

from __future__ import annotations

from pathlib import Path

from labdesk.domain.errors import LabdeskError


class BlockExhausted(LabdeskError):
    """The station has no reserved accession ID left and cannot reach the server."""

    def __init__(self, station: str, year: int) -> None:
        super().__init__(
            f"Station {station} has used every accession ID reserved for it for {year}, "
            "and the server cannot be reached to reserve more.",
            hint="Use the clinic's pre-printed downtime labels until the server is back; "
            "the station reserves a new block as soon as it reconnects (labdesk sync run).",
        )
        self.station = station
        self.year = year


class BlockRefused(LabdeskError):
    """The server cannot reserve a block (the year's serial range is used up)."""


class OutboxUnreadable(LabdeskError):
    """The outbox file is damaged or from another LabDesk version: nothing is replayed."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"The station's outbox {path} cannot be replayed: {problem} "
            "Nothing was sent to the server.",
            hint=f"Keep the file {path} as it is (it holds work done offline). Give it to "
            "your administrator, who can send it with the LabDesk version that wrote it; "
            "do not delete it or start the station with a new one until then.",
        )
        self.path = path
        self.problem = problem


class CommandRefused(LabdeskError):
    """The server's rules refused a replayed command; it is kept as a conflict."""

    def __init__(self, reason: str, *, online_copy: bool = False) -> None:
        super().__init__(f"The server refused this offline action: {reason}")
        self.reason = reason
        self.online_copy = online_copy
        """The server had this command from online (its answer was lost) and the station's
        offline copy differs: what the station did next with that copy's rows is held."""
