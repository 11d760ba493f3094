"""downtime (issue 12): the replica's change log

(Skeleton reserved for issue 12 work; its owner fills in upgrade and downgrade.)

Revision ID: 0020_replica_log
Revises: 0019_accession_blocks
Create Date: 2026-12-04 14:00:00
"""

revision = "0020_replica_log"
down_revision = "0019_accession_blocks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
