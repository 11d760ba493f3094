"""Tables of the custody leg: routes, courier manifests and their items, recollection tasks.

Custody events themselves live in :mod:`labdesk.adapters.orm` (``custody_events``).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from labdesk.adapters.orm import _pk, mapper_registry, metadata
from labdesk.adapters.types import StrEnumType, UTCDateTime
from labdesk.domain.catalog import TemperatureClass
from labdesk.domain.loss import LossReason
from labdesk.domain.manifest import Manifest, ManifestItem, ManifestStatus, ReceiptOutcome, Route
from labdesk.domain.recollection import RecollectionStatus, RecollectionTask

routes = Table(
    "routes",
    metadata,
    _pk(),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("from_site_id", ForeignKey("sites.id"), nullable=False, index=True),
    Column("to_site_id", ForeignKey("sites.id"), nullable=False),
    Column("transit_minutes", Integer, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

manifests = Table(
    "manifests",
    metadata,
    _pk(),
    Column("number", String(16), nullable=False, unique=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("courier_id", ForeignKey("users.id"), nullable=False),
    Column("route_id", ForeignKey("routes.id")),
    Column("station_code", String(32), nullable=False, default=""),
    Column("status", StrEnumType(ManifestStatus, 16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("receipt_started_at", UTCDateTime()),
    Column("received_at", UTCDateTime()),
    Column("received_by_id", ForeignKey("users.id")),
    Index(None, "status", "site_id"),
    Index(None, "courier_id", "status"),
)

manifest_items = Table(
    "manifest_items",
    metadata,
    _pk(),
    Column("manifest_id", ForeignKey("manifests.id"), nullable=False),
    Column("specimen_id", ForeignKey("specimens.id"), nullable=False, index=True),
    Column("temperature_class", StrEnumType(TemperatureClass, 16), nullable=False),
    Column("bag_id", String(32), nullable=False, default=""),
    Column("expected", Boolean, nullable=False, default=True),
    Column("scanned_at", UTCDateTime(), nullable=False),
    Column("scanned_by_id", ForeignKey("users.id"), nullable=False),
    Column("lab_outcome", StrEnumType(ReceiptOutcome, 16)),
    Column("lab_scanned_at", UTCDateTime()),
    Column("lab_scanned_by_id", ForeignKey("users.id")),
    UniqueConstraint("manifest_id", "specimen_id"),
)

recollection_tasks = Table(
    "recollection_tasks",
    metadata,
    _pk(),
    Column("specimen_id", ForeignKey("specimens.id"), nullable=False, unique=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False, index=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("note", String(400), nullable=False, default=""),
    Column("loss_reason", StrEnumType(LossReason, 32)),  # 0017
    Column("status", StrEnumType(RecollectionStatus, 16), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("opened_by_id", ForeignKey("users.id"), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("closed_by_id", ForeignKey("users.id")),
    Column("close_note", String(400), nullable=False, default=""),
    Column("recollected_specimen_id", ForeignKey("specimens.id")),  # 0009
    Index(None, "status", "site_id"),
)

_MAPPINGS: tuple[tuple[type, Table], ...] = (
    (Route, routes),
    (Manifest, manifests),
    (ManifestItem, manifest_items),
    (RecollectionTask, recollection_tasks),
)


def start_custody_mappers() -> None:
    """Map the custody-leg domain classes (called from ``orm.start_mappers``)."""
    for cls, table in _MAPPINGS:
        mapper_registry.map_imperatively(cls, table)
