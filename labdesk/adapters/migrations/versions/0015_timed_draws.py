"""timed and serial draws (issue 13 item 3)

Revision ID: 0015_timed_draws
Revises: 0014_add_on_tests
Create Date: 2026-12-03 08:40:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0015_timed_draws'
down_revision = '0014_add_on_tests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
