"""patient preparation, blood volume, collector and witness (issue 13 items 4-6)

Revision ID: 0016_preparation_volume
Revises: 0015_timed_draws
Create Date: 2026-12-03 08:40:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0016_preparation_volume'
down_revision = '0015_timed_draws'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
