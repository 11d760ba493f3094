"""The clinician board's own tables (migration 0008): one precomputed row per listed test.

``board_entries`` holds, per open ordered test (and per test acknowledged in the last days),
everything the board shows and its pending deadlines, so a board read is a bounded,
indexed query instead of an evaluation of every open test. A deadline becomes a flag when
its due time passes, so entries stay valid while time goes by; they only change when the
test's data does. Database triggers (see :mod:`labdesk.adapters.board_triggers`) append the
id of every test whose data changed to ``board_dirty``; the board service re-evaluates
those tests before each read. ``board_state`` records the policy and catalog the entries
were computed under (a change rebuilds them all).

Columns: ``closed_s`` is when an acknowledged test was closed (purged some days later);
``due_s`` the earliest pending deadline (None for a closed test) and ``sort_due`` the same,
far in the future for a closed test (an indexable sort key); ``d1_*``/``d2_*`` the pending
deadlines, the more urgent first. ``board_state.fingerprint`` is a SHA-256 of the policy,
catalog and routes; ``version`` is bumped by every refresh that changed entries, and
``generation`` is a random token renewed with it (unique even across restored backups).
``open_entries`` (migration 0023) is how many open entries the table holds, kept by every
write of the refresh in the same transaction, so the unfiltered board's count is one row
read instead of a count of 100k entries; NULL when not known (then they are counted).

Not mapped to domain classes: these rows are a read model, written and read with Core.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from labdesk.adapters.orm import binary_text, metadata

URGENCY_COLUMNS = ("d1_due", "d1_urgency", "d2_due", "d2_urgency")
"""What the urgency sort reads of a row, after its due time (see ``urgency_expression``)."""

board_entries = Table(
    "board_entries",
    metadata,
    Column(
        "ordered_test_id",
        ForeignKey("ordered_tests.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("is_open", Boolean, nullable=False),
    Column("closed_s", Float),
    Column("status", String(20), nullable=False),
    Column("status_rank", Integer, nullable=False),
    Column("stat", Boolean, nullable=False),
    Column("order_id", Integer, nullable=False),
    Column("placer_order_number", binary_text(40), nullable=False),
    Column("placer_key", binary_text(40), nullable=False),
    Column("test_code", binary_text(20), nullable=False),
    Column("test_name", String(120), nullable=False),
    Column("ordering_provider", binary_text(120), nullable=False),
    Column("provider_key", binary_text(120), nullable=False),
    Column("ordering_provider_id", Integer),
    Column("patient_id", Integer, nullable=False),
    Column("mrn", binary_text(40), nullable=False),
    Column("mrn_key", binary_text(40), nullable=False),
    Column("patient_name", String(250), nullable=False),
    Column("patient_key", binary_text(250), nullable=False),
    Column("family_key", binary_text(120), nullable=False),
    Column("given_key", binary_text(120), nullable=False),
    Column("accession", binary_text(16), nullable=False),
    Column("specimen_status", String(20), nullable=False),
    Column("ordered_s", Float, nullable=False),
    Column("collected_s", Float),
    Column("result_s", Float),
    Column("severity", Integer, nullable=False),
    Column("d1_reason", String(32)),
    Column("d1_urgency", Integer),
    Column("d1_since", Float),
    Column("d1_due", Float),
    Column("d2_reason", String(32)),
    Column("d2_urgency", Integer),
    Column("d2_since", Float),
    Column("d2_due", Float),
    Column("due_s", Float),
    Column("sort_due", Float, nullable=False),
    Column("escalated", Boolean, nullable=False),
    Column("escalated_to_id", Integer),
    Column("escalated_to", String(120), nullable=False),
    # Filters and their counts read covering indexes (no table row per match); pages read
    # ids from them and then fetch a page of rows by primary key. Every filter's index also
    # holds what the default urgency sort's CASE reads (the deadlines and their urgency
    # levels, migration 0018): without them, sorting a filter's 40,000 matches fetched
    # every table row (400 ms for "final results" at 100,000 open tests).
    Index("ix_board_entries_open_due", "is_open", "sort_due", *URGENCY_COLUMNS),
    Index("ix_board_entries_status", "is_open", "status", "sort_due", *URGENCY_COLUMNS),
    Index(
        "ix_board_entries_d1",
        "is_open",
        "d1_reason",
        "d1_due",
        "sort_due",
        "d1_urgency",
        "d2_due",
        "d2_urgency",
    ),
    Index(
        "ix_board_entries_d2",
        "is_open",
        "d2_reason",
        "d2_due",
        "sort_due",
        "d1_due",
        "d1_urgency",
        "d2_urgency",
    ),
    Index(
        "ix_board_entries_provider", "is_open", "ordering_provider", "sort_due", *URGENCY_COLUMNS
    ),
    # The default board's first page, one urgency level at a time in due order (see
    # labdesk.adapters.repositories.board_levels): rows whose first, or second, deadline
    # is of a level.
    Index("ix_board_entries_d1_urgency", "is_open", "d1_urgency", "sort_due", "d1_due"),
    Index("ix_board_entries_d2_urgency", "is_open", "d2_urgency", "sort_due", "d1_due", "d2_due"),
    # A reason filter's first page the same way: the rows whose first, or second, deadline
    # is of the reason, in due order (migration 0024).
    Index(
        "ix_board_entries_d1_reason_due", "is_open", "d1_reason", "sort_due", "d1_due", "d1_urgency"
    ),
    Index(
        "ix_board_entries_d2_reason_due",
        "is_open",
        "d2_reason",
        "sort_due",
        "d2_due",
        "d1_due",
        "d1_urgency",
        "d2_urgency",
    ),
    Index("ix_board_entries_provider_id", "ordering_provider_id"),
    Index("ix_board_entries_escalated_to_id", "escalated_to_id"),
    Index("ix_board_entries_mrn_key", "mrn_key"),
    Index("ix_board_entries_family_key", "family_key"),
    Index("ix_board_entries_given_key", "given_key"),
    Index("ix_board_entries_accession", "accession"),
    Index("ix_board_entries_placer_key", "placer_key"),
    Index("ix_board_entries_test_code", "test_code"),
    Index("ix_board_entries_closed_s", "closed_s"),
    # One per sortable column, so a sort reads a page in order instead of sorting them all.
    Index("ix_board_entries_patient_key", "patient_key"),
    Index("ix_board_entries_mrn", "mrn"),
    Index("ix_board_entries_status_rank", "status_rank"),
    Index("ix_board_entries_severity", "severity"),
    Index("ix_board_entries_stat", "stat"),
    Index("ix_board_entries_provider_key", "provider_key"),
    Index("ix_board_entries_ordered_s", "ordered_s"),
    Index("ix_board_entries_collected_s", "collected_s"),
)

board_dirty = Table(
    "board_dirty",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ordered_test_id", Integer, nullable=False),
    sqlite_autoincrement=True,
)

board_state = Table(
    "board_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("fingerprint", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("rebuilt_s", Float),
    Column("analyzed_rows", Integer),
    Column("generation", String(32)),
    Column("open_entries", Integer),
)
