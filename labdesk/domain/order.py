"""Orders and the tests they request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Priority(StrEnum):
    """Order priority (HL7 TQ1-9 subset)."""

    ROUTINE = "routine"
    STAT = "stat"


class OrderSource(StrEnum):
    """Where an order came from."""

    MANUAL = "manual"
    HL7 = "hl7"


class OrderStatus(StrEnum):
    """Order lifecycle."""

    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TestStatus(StrEnum):
    """Where one ordered test stands in the loop from order to acknowledged result."""

    ORDERED = "ordered"
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    PRELIMINARY = "preliminary"
    FINAL = "final"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    LOST = "lost"
    """Its specimen was reported lost: it must be recollected (or closed by a clinician)."""
    NOT_PERFORMED = "not_performed"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """True while the test still needs something to happen before it is closed."""
        return self not in {TestStatus.ACKNOWLEDGED, TestStatus.CANCELLED}


@dataclass(eq=False, kw_only=True)
class Order:
    """A request from a provider for one or more tests on one patient."""

    placer_order_number: str
    patient_id: int
    ordering_provider: str
    priority: Priority
    source: OrderSource
    ordered_at: datetime
    created_at: datetime
    requisition: str = ""
    status: OrderStatus = OrderStatus.ACTIVE
    cancel_reason: str = ""
    ordering_provider_id: int | None = None
    id: int | None = None


@dataclass(eq=False, kw_only=True)
class OrderedTest:
    """One catalog test on an order, with its status."""

    order_id: int
    test_code: str
    status: TestStatus = TestStatus.ORDERED
    specimen_id: int | None = None
    status_changed_at: datetime | None = None
    id: int | None = None
