"""downtime (issue 12): offline conflicts and their resolutions

(Skeleton reserved for issue 12 work; its owner fills in upgrade and downgrade.)

Revision ID: 0021_reconciliation
Revises: 0020_replica_log
Create Date: 2026-12-04 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_reconciliation"
down_revision = "0020_replica_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconciliation_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("station", sa.String(length=32), nullable=False),
        sa.Column("command", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("specimen_id", sa.Integer(), nullable=True),
        sa.Column("ordered_test_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("station_summary", sa.Text(), nullable=False),
        sa.Column("server_reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["idempotency_key"],
            ["replayed_commands.idempotency_key"],
            name=op.f("fk_reconciliation_items_idempotency_key_replayed_commands"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_items")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_reconciliation_items_idempotency_key")
        ),
    )
    op.create_index(op.f("ix_reconciliation_items_state"), "reconciliation_items", ["state"])
    op.create_index(
        op.f("ix_reconciliation_items_ordered_test_id_state"),
        "reconciliation_items",
        ["ordered_test_id", "state"],
    )
    op.create_index(
        op.f("ix_reconciliation_items_specimen_id_state"),
        "reconciliation_items",
        ["specimen_id", "state"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_reconciliation_items_specimen_id_state"), table_name="reconciliation_items"
    )
    op.drop_index(
        op.f("ix_reconciliation_items_ordered_test_id_state"), table_name="reconciliation_items"
    )
    op.drop_index(op.f("ix_reconciliation_items_state"), table_name="reconciliation_items")
    op.drop_table("reconciliation_items")
