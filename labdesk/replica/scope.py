"""What a station's replica holds: its station, the order window and the sign-in window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ReplicaScope:
    """The rows one station keeps for offline work.

    Attributes:
        station: the station code (its site decides which specimens and tasks are kept).
        order_window_days: active orders placed within this many days are kept, with
            their patients and tests.
        user_days: users who signed in at this station within this many days are kept
            (with their password and PIN hashes, so they can sign in offline).
    """

    station: str
    order_window_days: int = 14
    user_days: int = 30

    def order_cutoff(self, now: datetime) -> datetime:
        """Orders placed before this are outside the window."""
        return now - timedelta(days=self.order_window_days)

    def user_cutoff(self, now: datetime) -> datetime:
        """Sign-ins before this do not keep a user in the replica."""
        return now - timedelta(days=self.user_days)
