"""Tables of timed and serial draws (migration 0015): the compendium's series steps and
each patient's scheduled steps with their due times and out-of-window reasons.

Plain Core tables read and written by
:class:`labdesk.adapters.repositories.timed_draws.TimedDrawRepository` (no mapped classes).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table

from labdesk.adapters.orm import metadata
from labdesk.adapters.types import UTCDateTime

series_steps = Table(
    "series_steps",
    metadata,
    Column("series_code", String(32), primary_key=True),
    Column("step_no", Integer, primary_key=True),
    Column("series_name", String(120), nullable=False),
    Column("label", String(16), nullable=False),
    Column("step_label", String(16), nullable=False),
    Column("test_code", String(32), nullable=False, unique=True),
    Column("anchor", String(16), nullable=False),
    Column("offset_min", Integer, nullable=False, default=0),
    Column("clock_time", String(5), nullable=False, default=""),
    Column("window_before_min", Integer, nullable=False, default=0),
    Column("window_after_min", Integer, nullable=False, default=0),
    Column("reason_required", Boolean, nullable=False, default=True),
)

timed_draws = Table(
    "timed_draws",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False, index=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("series_code", String(32), nullable=False),
    Column("step_no", Integer, nullable=False),
    Column("ordered_test_id", ForeignKey("ordered_tests.id"), nullable=False, unique=True),
    Column("time_point", String(40), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("opens_at", UTCDateTime(), nullable=False),
    Column("closes_at", UTCDateTime(), nullable=False),
    Column("reason_required", Boolean, nullable=False),
    Column("scheduled_at", UTCDateTime(), nullable=False),
    Column("specimen_id", ForeignKey("specimens.id"), index=True),
    Column("collected_at", UTCDateTime()),
    Column("out_of_window", Boolean, nullable=False, default=False),
    Column("deviation", String(40), nullable=False, default=""),
    Column("timing_reason", String(200), nullable=False, default=""),
    Index(None, "order_id", "series_code"),
)
