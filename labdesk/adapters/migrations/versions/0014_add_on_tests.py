"""add-on tests and recollection links (issue 13 items 1-2)

Revision ID: 0014_add_on_tests
Revises: 0013_change_feed
Create Date: 2026-12-03 08:40:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0014_add_on_tests'
down_revision = '0013_change_feed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
