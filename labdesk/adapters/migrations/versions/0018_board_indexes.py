"""board: the filters' indexes also cover the urgency sort (issue 14, SQLite speed)

The board's default order is by urgency: a CASE over the raised deadlines (``d1_due``,
``d1_urgency``, ``d2_due``, ``d2_urgency``) then ``sort_due``. The status, reason and
clinician filters' indexes held only ``sort_due``, so sorting a filter's matches fetched
every matching table row: "final results" over 100,000 open tests took 400 ms on SQLite.
With the deadlines and levels in the index the sort reads the index alone (an index-only
scan on PostgreSQL). Same index names; ``ix_board_entries_open_due`` already had them.

Two new indexes serve the unfiltered board's first page one urgency level at a time in due
order (``labdesk/adapters/repositories/board_levels.py``) instead of sorting every open
test: ``ix_board_entries_d1_urgency`` and ``ix_board_entries_d2_urgency``.

Revision ID: 0018_board_indexes
Revises: 0017_loss_reasons
Create Date: 2026-12-03 13:10:00
"""
from alembic import op


revision = '0018_board_indexes'
down_revision = '0017_loss_reasons'
branch_labels = None
depends_on = None

_URGENCY = ['d1_due', 'd1_urgency', 'd2_due', 'd2_urgency']
_BEFORE = {
    'ix_board_entries_status': ['is_open', 'status', 'sort_due'],
    'ix_board_entries_d1': ['is_open', 'd1_reason', 'd1_due', 'sort_due'],
    'ix_board_entries_d2': ['is_open', 'd2_reason', 'd2_due', 'sort_due'],
    'ix_board_entries_provider': ['is_open', 'ordering_provider', 'sort_due'],
}
_AFTER = {
    'ix_board_entries_status': ['is_open', 'status', 'sort_due', *_URGENCY],
    'ix_board_entries_d1': [
        'is_open', 'd1_reason', 'd1_due', 'sort_due', 'd1_urgency', 'd2_due', 'd2_urgency'
    ],
    'ix_board_entries_d2': [
        'is_open', 'd2_reason', 'd2_due', 'sort_due', 'd1_due', 'd1_urgency', 'd2_urgency'
    ],
    'ix_board_entries_provider': ['is_open', 'ordering_provider', 'sort_due', *_URGENCY],
}
_LEVELS = {
    'ix_board_entries_d1_urgency': ['is_open', 'd1_urgency', 'sort_due', 'd1_due'],
    'ix_board_entries_d2_urgency': ['is_open', 'd2_urgency', 'sort_due', 'd1_due', 'd2_due'],
}


def _analyze() -> None:
    # Dropping an index drops its SQLite statistics, and the board's own ANALYZE runs only
    # when its row count moves: analyse the new indexes now.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ANALYZE board_entries')


def _recreate(indexes: dict[str, list[str]]) -> None:
    # Plain DROP/CREATE INDEX, not batch mode: an index needs no table copy.
    for name, columns in indexes.items():
        op.drop_index(name, table_name='board_entries')
        op.create_index(name, 'board_entries', columns, unique=False)


def upgrade() -> None:
    _recreate(_AFTER)
    for name, columns in _LEVELS.items():
        op.create_index(name, 'board_entries', columns, unique=False)
    _analyze()


def downgrade() -> None:
    for name in _LEVELS:
        op.drop_index(name, table_name='board_entries')
    _recreate(_BEFORE)
    _analyze()
