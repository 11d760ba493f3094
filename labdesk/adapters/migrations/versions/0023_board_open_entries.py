"""board (issue 14): the count of open entries kept on the board's state row

The unfiltered board (its load and a cleared filter) counted every open entry, 100k rows on
a 1M-specimen clinic; the refresh now keeps that count as it writes the entries.

Revision ID: 0023_board_open_entries
Revises: 0022_station_contacts
Create Date: 2026-12-04 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_board_open_entries"
down_revision = "0022_station_contacts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("board_state") as batch:
        batch.add_column(sa.Column("open_entries", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE board_state SET open_entries ="
        " (SELECT count(*) FROM board_entries WHERE board_entries.is_open)"
    )


def downgrade() -> None:
    with op.batch_alter_table("board_state") as batch:
        batch.drop_column("open_entries")
