"""coded loss reasons on recollection tasks (issue 13 item 2)

``recollection_tasks.loss_reason``: why a lost specimen's task was opened (a
``labdesk.domain.loss.LossReason`` value; NULL for a rejection). Tasks opened before codes
existed are migrated: a tube reported missing at lab receipt becomes ``not_in_bag``, any
other loss ``other``; its typed text already sits in ``note``. Lost custody events keep
their free text (the table is append-only and hash-chained); screens show it as typed.

A plain ADD COLUMN, not batch mode: rebuilding the table on SQLite would drop its change
feed triggers (0013).

Revision ID: 0017_loss_reasons
Revises: 0016_preparation_volume
Create Date: 2026-12-03 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_loss_reasons'
down_revision = '0016_preparation_volume'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'recollection_tasks', sa.Column('loss_reason', sa.String(length=32), nullable=True)
    )
    op.execute(
        "UPDATE recollection_tasks SET loss_reason = 'not_in_bag' "
        "WHERE reason = 'lost' AND note LIKE 'Missing from manifest %'"
    )
    op.execute(
        "UPDATE recollection_tasks SET loss_reason = 'other' "
        "WHERE reason = 'lost' AND loss_reason IS NULL"
    )


def downgrade() -> None:
    op.drop_column('recollection_tasks', 'loss_reason')
