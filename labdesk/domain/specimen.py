"""Specimens: one labelled container of material from one patient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from labdesk.domain.catalog import TemperatureClass


class SpecimenStatus(StrEnum):
    """Where the container is in its journey (follows the custody chain)."""

    COLLECTED = "collected"
    LABELLED = "labelled"
    VERIFIED = "verified"
    PACKED = "packed"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    RECEIVED = "received"
    REJECTED = "rejected"
    LOST = "lost"


@dataclass(eq=False, kw_only=True)
class Specimen:
    """A container with an accession ID and the tests it carries."""

    accession: str
    patient_id: int
    container_code: str
    site_id: int
    status: SpecimenStatus
    collected_at: datetime
    collected_by_id: int
    created_at: datetime
    temperature_class: TemperatureClass = TemperatureClass.AMBIENT
    volume_ml: float | None = None
    collection_note: str = ""
    status_changed_at: datetime | None = None
    recollection_of_id: int | None = None
    """The rejected or lost specimen this one was drawn to replace."""
    id: int | None = None
