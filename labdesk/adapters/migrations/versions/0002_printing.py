"""printing: label preview stored with each print job

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: documents and jobs from before this revision have no preview.
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preview_png', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.drop_column('preview_png')
