"""downtime (issue 12): each station's last contact, outbox depth and clock

(Skeleton reserved for issue 12 work; its owner fills in upgrade and downgrade.)

Revision ID: 0022_station_contacts
Revises: 0021_reconciliation
Create Date: 2026-12-04 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_station_contacts"
down_revision = "0021_reconciliation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "station_contacts",
        sa.Column("station", sa.String(length=32), nullable=False),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("station_clock_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("skew_seconds", sa.Float(), nullable=False),
        sa.Column("outbox_pending", sa.Integer(), nullable=False),
        sa.Column("outbox_conflicts", sa.Integer(), nullable=False),
        sa.Column("block_remaining", sa.Integer(), nullable=False),
        sa.Column("replica_seq", sa.Integer(), nullable=True),
        sa.Column("replica_age_seconds", sa.Float(), nullable=True),
        sa.Column("app_version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("station", name=op.f("pk_station_contacts")),
    )


def downgrade() -> None:
    op.drop_table("station_contacts")
