"""board (issue 14): a reason filter's first page read in due order, level by level

Filtering the board to one reason sorted all its matches by urgency (30k rows, about 33 ms
on a 1M-specimen board); these indexes lead to them per reason in due order, as
``ix_board_entries_d1_urgency`` and ``ix_board_entries_d2_urgency`` do for the whole board.

Revision ID: 0024_board_reason_order
Revises: 0023_board_open_entries
Create Date: 2026-12-04 23:45:00
"""

from alembic import op

revision = "0024_board_reason_order"
down_revision = "0023_board_open_entries"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_board_entries_d1_reason_due": ["is_open", "d1_reason", "sort_due", "d1_due", "d1_urgency"],
    "ix_board_entries_d2_reason_due": [
        "is_open", "d2_reason", "sort_due", "d2_due", "d1_due", "d1_urgency", "d2_urgency",
    ],  # fmt: skip
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "board_entries", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="board_entries")
