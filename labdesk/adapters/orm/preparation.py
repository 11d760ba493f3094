"""Tables of patient preparation, blood-volume limits, collector and witness (issue 13 items 4-6).

Created by migration 0016. Plain tables (no mapped classes): the repository
(:mod:`labdesk.adapters.repositories.preparation`) reads and writes rows and hands out
frozen domain values. Imported by that repository, which the unit of work imports, so the
tables are on ``metadata`` wherever storage is used.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table

from labdesk.adapters.orm import metadata
from labdesk.adapters.types import UTCDateTime

preparation_rules = Table(
    "preparation_rules",
    metadata,
    Column("test_code", ForeignKey("test_definitions.code"), primary_key=True),
    Column("fasting_hours", Float),
    Column("last_dose_hours", Float),
    Column("first_morning_urine", Boolean, nullable=False, default=False),
    Column("question", String(200), nullable=False, default=""),
    Column("met_when", String(200), nullable=False, default=""),
)
"""The compendium's preparation file: what each test needs before the draw."""

pediatric_tubes = Table(
    "pediatric_tubes",
    metadata,
    Column("test_code", ForeignKey("test_definitions.code"), primary_key=True),
    Column("container_code", ForeignKey("container_types.code"), nullable=False),
    Column("volume_ml", Float, nullable=False),
)
"""The compendium's pediatric file: a test's minimum-volume container and its volume."""

preparation_answers = Table(
    "preparation_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("encounter_id", ForeignKey("encounters.id"), nullable=False, index=True),
    Column("ordered_test_id", ForeignKey("ordered_tests.id"), nullable=False, index=True),
    Column("specimen_id", ForeignKey("specimens.id"), index=True),
    Column("kind", String(32), nullable=False),
    Column("question", String(200), nullable=False),
    Column("answer", String(200), nullable=False),
    Column("met", Boolean, nullable=False),
    Column("comment", String(400), nullable=False, default=""),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by_id", ForeignKey("users.id"), nullable=False),
)
"""What the patient answered for each collected test (on its specimen, sent as AOE OBX)."""

patient_weights = Table(
    "patient_weights",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False),
    Column("weight_kg", Float, nullable=False),
    Column("encounter_id", ForeignKey("encounters.id")),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by_id", ForeignKey("users.id"), nullable=False),
    Index(None, "patient_id", "recorded_at"),
)
"""Weights entered at the chair, with who and when (the newest is the patient's weight)."""

volume_prioritisations = Table(
    "volume_prioritisations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("encounter_id", ForeignKey("encounters.id"), nullable=False, index=True),
    Column("clinician", String(120), nullable=False),
    Column("reason", String(400), nullable=False),
    Column("planned_ml", Float, nullable=False),
    Column("allowed_ml", Float, nullable=False),
    Column("excess_ml", Float, nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by_id", ForeignKey("users.id"), nullable=False),
)
"""A clinician's decision to draw over the blood-volume limit, with the reason."""

collection_witnesses = Table(
    "collection_witnesses",
    metadata,
    Column("specimen_id", ForeignKey("specimens.id"), primary_key=True),
    Column("recorded_by_id", ForeignKey("users.id"), nullable=False),
    Column("collector_id", ForeignKey("users.id"), nullable=False),
    Column("observer_id", ForeignKey("users.id")),
)
"""Who recorded a collection, who drew it (badge scan) and who observed it (forensic)."""
