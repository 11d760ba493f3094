"""hl7 unique: at most one applied message per sender and MSH-10

Two ``labdesk hl7 serve`` processes on one PostgreSQL each read "not seen yet" for the same
message and applied it twice (a read-then-write check cannot hold across processes). The
partial unique index ``uq_hl7_messages_applied`` on ``(sender, control_id)`` of rows with
status ``processed`` makes the database refuse the second copy; the ingest then reads again
and stores it as a duplicate (AA, not applied again).

Existing duplicates (several processed rows for one key, from before this index) would stop
the index being created: every such row but the first becomes ``duplicate`` of the first,
with a note in ``error``. Their result rows stay as they are; the note says to review them.

Revision ID: 0010_hl7_unique
Revises: 0009
Create Date: 2026-12-02 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_hl7_unique'
down_revision = '0009'
branch_labels = None
depends_on = None

_FIRST = (
    "(SELECT MIN(f.id) FROM hl7_messages f WHERE f.sender = hl7_messages.sender "
    "AND f.control_id = hl7_messages.control_id AND f.status = 'processed')"
)
_NOTE = (
    "Applied a second time before migration 0010 made sender + MSH-10 unique; now marked "
    "duplicate. Review the results it stored."
)


def upgrade() -> None:
    op.execute(
        sa.text(
            f"UPDATE hl7_messages SET status = 'duplicate', duplicate_of_id = {_FIRST}, "
            f"error = :note WHERE status = 'processed' AND id > {_FIRST}"
        ).bindparams(note=_NOTE)
    )
    processed = sa.text("status = 'processed'")
    op.create_index(
        'uq_hl7_messages_applied',
        'hl7_messages',
        ['sender', 'control_id'],
        unique=True,
        sqlite_where=processed,
        postgresql_where=processed,
    )


def downgrade() -> None:
    op.drop_index('uq_hl7_messages_applied', table_name='hl7_messages')
