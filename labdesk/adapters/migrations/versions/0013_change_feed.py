"""live updates (issue 14): change-notification triggers

Revision ID: 0013_change_feed
Revises: 0012_command_log
Create Date: 2026-12-03 08:40:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0013_change_feed'
down_revision = '0012_command_log'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
