"""One retry schedule for the persisted queues (print spooler, HL7 outbound messages).

Both queues store ``attempts`` and ``next_attempt_at`` per row; what differs between them is
only the numbers, so each names a :class:`RetryPolicy` instance and asks it when to try next.
The schedule is exponential back-off without jitter: queued rows are retried by a single
sweeper per queue, so there is no herd of clients to spread out, and a fixed schedule keeps
"when will it be tried again" predictable for the person looking at the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_MAX_DOUBLINGS = 16
"""Bound on the exponent so a row retried for years never builds a huge integer."""


@dataclass(frozen=True)
class RetryPolicy:
    """Wait ``base``, then ``base * factor``, ``base * factor**2`` ... never more than ``cap``.

    ``max_attempts`` (None: retry for ever) is how many failed attempts a queue allows
    before it gives the row up; the queue decides what giving up means.
    """

    base: timedelta
    cap: timedelta
    factor: int = 2
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base or self.factor < 1:
            raise ValueError("a retry policy needs 0 < base <= cap and factor >= 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, attempts: int) -> timedelta:
        """Wait after ``attempts`` failed attempts (0 or 1 both give ``base``)."""
        steps = min(max(0, attempts - 1), _MAX_DOUBLINGS)
        multiplier: int = self.factor**steps  # int ** int is typed Any
        return min(self.base * multiplier, self.cap)

    def next_attempt_at(self, attempts: int, now: datetime) -> datetime:
        """When to try again after ``attempts`` failed attempts, seen at ``now``."""
        return now + self.delay(attempts)

    def exhausted(self, attempts: int) -> bool:
        """True when ``attempts`` failed attempts are all this policy allows."""
        return self.max_attempts is not None and attempts >= self.max_attempts
