"""Table of add-on tests and volume reservations (migration 0014).

One row per ordered test a specimen carries, written when the test is collected into the
specimen or added to it later: the volume it reserves (the catalog's minimum volume, see
:data:`labdesk.domain.add_on.RESERVATION_BASIS`), and for an add-on who asked for it.
``add_on_key`` holds the test code of an add-on (NULL for a test drawn at the chair), so
the unique constraint on ``(specimen_id, add_on_key)`` lets exactly one of two people adding
the same test to the same tube at once win; NULLs never collide, so a first draw with two
orders of one test is unaffected.

Plain Core table (no mapped class): the repository reads and writes
:class:`labdesk.domain.add_on.VolumeReservation` values itself.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Integer, String, Table, UniqueConstraint

from labdesk.adapters.orm import metadata
from labdesk.adapters.types import UTCDateTime

test_reservations = Table(
    "test_reservations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ordered_test_id", ForeignKey("ordered_tests.id"), nullable=False, unique=True),
    Column("specimen_id", ForeignKey("specimens.id"), nullable=False, index=True),
    Column("test_code", String(16), nullable=False),
    Column("volume_ml", Float, nullable=False),
    Column("added_on", Boolean, nullable=False, default=False),
    Column("add_on_key", String(16)),
    Column("requested_by", String(120), nullable=False, default=""),
    Column("reserved_at", UTCDateTime(), nullable=False),
    Column("reserved_by_id", ForeignKey("users.id"), nullable=False),
    UniqueConstraint("specimen_id", "add_on_key"),
)
