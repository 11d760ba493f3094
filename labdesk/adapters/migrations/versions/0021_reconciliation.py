"""downtime (issue 12): offline conflicts and their resolutions

(Skeleton reserved for issue 12 work; its owner fills in upgrade and downgrade.)

Revision ID: 0021_reconciliation
Revises: 0020_replica_log
Create Date: 2026-12-04 14:00:00
"""

revision = "0021_reconciliation"
down_revision = "0020_replica_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
