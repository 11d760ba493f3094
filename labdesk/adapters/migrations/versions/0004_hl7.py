"""hl7: received messages (dead letters), unmatched results, outbound queue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hl7_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('control_id', sa.String(length=64), nullable=False),
    sa.Column('sender', sa.String(length=120), nullable=False),
    sa.Column('message_type', sa.String(length=16), nullable=False),
    sa.Column('version', sa.String(length=8), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ack_code', sa.String(length=2), nullable=False),
    sa.Column('error', sa.String(length=400), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['hl7_messages.id'], name=op.f('fk_hl7_messages_duplicate_of_id_hl7_messages')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_hl7_messages_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hl7_messages'))
    )
    with op.batch_alter_table('hl7_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hl7_messages_control_id_sender'), ['control_id', 'sender'], unique=False)
        batch_op.create_index(batch_op.f('ix_hl7_messages_status_received_at'), ['status', 'received_at'], unique=False)

    op.create_table('outbound_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('control_id', sa.String(length=64), nullable=False),
    sa.Column('message_type', sa.String(length=16), nullable=False),
    sa.Column('specimen_key', sa.String(length=400), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=400), nullable=False),
    sa.Column('ack_code', sa.String(length=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outbound_messages_attempts_non_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_messages')),
    sa.UniqueConstraint('control_id', name=op.f('uq_outbound_messages_control_id'))
    )
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_messages_specimen_key'), ['specimen_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_messages_status_next_attempt_at'), ['status', 'next_attempt_at'], unique=False)

    op.create_table('unmatched_results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('group_index', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=400), nullable=False),
    sa.Column('patient_mrn', sa.String(length=32), nullable=False),
    sa.Column('patient_name', sa.String(length=200), nullable=False),
    sa.Column('patient_birth_date', sa.String(length=16), nullable=False),
    sa.Column('placer_order_number', sa.String(length=40), nullable=False),
    sa.Column('accession', sa.String(length=40), nullable=False),
    sa.Column('test_code', sa.String(length=32), nullable=False),
    sa.Column('test_name', sa.String(length=160), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('matched_ordered_test_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['matched_ordered_test_id'], ['ordered_tests.id'], name=op.f('fk_unmatched_results_matched_ordered_test_id_ordered_tests')),
    sa.ForeignKeyConstraint(['message_id'], ['hl7_messages.id'], name=op.f('fk_unmatched_results_message_id_hl7_messages')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_unmatched_results_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unmatched_results'))
    )
    with op.batch_alter_table('unmatched_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unmatched_results_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unmatched_results_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('unmatched_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unmatched_results_status'))
        batch_op.drop_index(batch_op.f('ix_unmatched_results_message_id'))

    op.drop_table('unmatched_results')
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_messages_status_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_outbound_messages_specimen_key'))

    op.drop_table('outbound_messages')
    with op.batch_alter_table('hl7_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hl7_messages_status_received_at'))
        batch_op.drop_index(batch_op.f('ix_hl7_messages_control_id_sender'))

    op.drop_table('hl7_messages')
