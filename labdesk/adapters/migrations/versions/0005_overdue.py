"""overdue: covering clinicians, escalations, index for the board's change marker

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('covering_clinicians',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('clinician_id', sa.Integer(), nullable=False),
    sa.Column('covering_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clinician_id'], ['users.id'], name=op.f('fk_covering_clinicians_clinician_id_users')),
    sa.ForeignKeyConstraint(['covering_id'], ['users.id'], name=op.f('fk_covering_clinicians_covering_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_covering_clinicians')),
    sa.UniqueConstraint('clinician_id', name=op.f('uq_covering_clinicians_clinician_id'))
    )
    op.create_table('escalations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ordered_test_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('since_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_escalations_from_user_id_users')),
    sa.ForeignKeyConstraint(['ordered_test_id'], ['ordered_tests.id'], name=op.f('fk_escalations_ordered_test_id_ordered_tests')),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_escalations_to_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations')),
    sa.UniqueConstraint('ordered_test_id', 'reason', 'since_at', name=op.f('uq_escalations_ordered_test_id_reason_since_at'))
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalations_to_user_id'), ['to_user_id'], unique=False)

    # The board polls max(status_changed_at) every few seconds: an index makes it one probe.
    with op.batch_alter_table('ordered_tests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ordered_tests_status_changed_at'), ['status_changed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ordered_tests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ordered_tests_status_changed_at'))
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalations_to_user_id'))
    op.drop_table('escalations')
    op.drop_table('covering_clinicians')
