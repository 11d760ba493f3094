"""downtime (issue 12): each station's last contact, outbox depth and clock

(Skeleton reserved for issue 12 work; its owner fills in upgrade and downgrade.)

Revision ID: 0022_station_contacts
Revises: 0021_reconciliation
Create Date: 2026-12-04 14:00:00
"""

revision = "0022_station_contacts"
down_revision = "0021_reconciliation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
