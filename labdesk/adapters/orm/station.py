"""Tables of the phlebotomy station: encounters, collection details, forensic forms, alarms.

Created by migration 0006. Mapped from :func:`labdesk.adapters.orm.start_mappers`.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table

from labdesk.adapters.orm import mapper_registry, metadata
from labdesk.adapters.types import StrEnumType, UTCDateTime
from labdesk.domain.encounter import (
    AlarmKind,
    CollectionDetail,
    CollectionMethod,
    Encounter,
    EncounterStatus,
    ForensicRecord,
    IdMethod,
    MissedCollection,
    ScanAlarm,
)

encounters = Table(
    "encounters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False),
    Column("station_code", String(32), nullable=False),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("status", StrEnumType(EncounterStatus, 16), nullable=False),
    Column("started_by_id", ForeignKey("users.id"), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("identified_at", UTCDateTime()),
    Column("identified_by_id", ForeignKey("users.id")),
    Column("id_method", StrEnumType(IdMethod, 16)),
    Column("ended_at", UTCDateTime()),
    Column("end_reason", String(200), nullable=False, default=""),
    Index(None, "patient_id", "status"),
    Index(None, "station_code", "status"),
)

collection_details = Table(
    "collection_details",
    metadata,
    Column("specimen_id", ForeignKey("specimens.id"), primary_key=True),
    Column("encounter_id", ForeignKey("encounters.id"), nullable=False, index=True),
    Column("method", StrEnumType(CollectionMethod, 16), nullable=False),
    Column("fasting", Boolean),
    Column("backdate_reason", String(200), nullable=False, default=""),
)

forensic_collections = Table(
    "forensic_collections",
    metadata,
    Column("specimen_id", ForeignKey("specimens.id"), primary_key=True),
    Column("encounter_id", ForeignKey("encounters.id"), nullable=False, index=True),
    Column("ccf_number", String(32), nullable=False, index=True),
    Column("temperature_c", Float, nullable=False),
    Column("minutes_to_temperature_read", Float, nullable=False),
    Column("temperature_in_range", Boolean, nullable=False),
    Column("bottle_a_ml", Float, nullable=False),
    Column("bottle_b_ml", Float, nullable=False),
    Column("bottles_sealed_and_dated", Boolean, nullable=False),
    Column("donor_initialled_seals", Boolean, nullable=False),
    Column("donor_id_checked", Boolean, nullable=False),
    Column("observed", Boolean, nullable=False),
    Column("remarks", String(400), nullable=False, default=""),
    Column("recollection_of_id", ForeignKey("specimens.id")),
    Column("recollection_waived_reason", String(200), nullable=False, default=""),
)

missed_collections = Table(
    "missed_collections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("encounter_id", ForeignKey("encounters.id"), nullable=False, index=True),
    Column("ordered_test_id", ForeignKey("ordered_tests.id"), nullable=False, index=True),
    Column("reason", String(200), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by_id", ForeignKey("users.id"), nullable=False),
)

scan_alarms = Table(
    "scan_alarms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("encounter_id", ForeignKey("encounters.id"), nullable=False, index=True),
    Column("kind", StrEnumType(AlarmKind, 32), nullable=False),
    Column("scanned", String(64), nullable=False),
    Column("message", String(400), nullable=False),
    Column("raised_at", UTCDateTime(), nullable=False),
    Column("raised_by_id", ForeignKey("users.id"), nullable=False),
    Column("resolved_at", UTCDateTime()),
    Column("resolved_by_id", ForeignKey("users.id")),
    Column("resolution", String(200), nullable=False, default=""),
)

_MAPPINGS: tuple[tuple[type, Table], ...] = (
    (Encounter, encounters),
    (CollectionDetail, collection_details),
    (ForensicRecord, forensic_collections),
    (MissedCollection, missed_collections),
    (ScanAlarm, scan_alarms),
)


def start_station_mappers() -> None:
    """Map the station's domain classes (called from ``orm.start_mappers``)."""
    for cls, table in _MAPPINGS:
        mapper_registry.map_imperatively(cls, table)
