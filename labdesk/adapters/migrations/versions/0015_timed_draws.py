"""timed and serial draws (issue 13 item 3)

The compendium's test series (``series_steps``: OGTT fasting/1 h/2 h, a trough before the
next dose, an early-morning cortisol window) and each patient's scheduled steps
(``timed_draws``: due time and window, the specimen that drew it, an out-of-window reason
for the lab).

Revision ID: 0015_timed_draws
Revises: 0014_add_on_tests
Create Date: 2026-12-03 08:40:00
"""
from alembic import op
import sqlalchemy as sa



revision = '0015_timed_draws'
down_revision = '0014_add_on_tests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'series_steps',
        sa.Column('series_code', sa.String(length=32), nullable=False),
        sa.Column('step_no', sa.Integer(), nullable=False),
        sa.Column('series_name', sa.String(length=120), nullable=False),
        sa.Column('label', sa.String(length=16), nullable=False),
        sa.Column('step_label', sa.String(length=16), nullable=False),
        sa.Column('test_code', sa.String(length=32), nullable=False),
        sa.Column('anchor', sa.String(length=16), nullable=False),
        sa.Column('offset_min', sa.Integer(), nullable=False),
        sa.Column('clock_time', sa.String(length=5), nullable=False),
        sa.Column('window_before_min', sa.Integer(), nullable=False),
        sa.Column('window_after_min', sa.Integer(), nullable=False),
        sa.Column('reason_required', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('series_code', 'step_no', name=op.f('pk_series_steps')),
        sa.UniqueConstraint('test_code', name=op.f('uq_series_steps_test_code')),
    )
    op.create_table(
        'timed_draws',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('series_code', sa.String(length=32), nullable=False),
        sa.Column('step_no', sa.Integer(), nullable=False),
        sa.Column('ordered_test_id', sa.Integer(), nullable=False),
        sa.Column('time_point', sa.String(length=40), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reason_required', sa.Boolean(), nullable=False),
        sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('specimen_id', sa.Integer(), nullable=True),
        sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('out_of_window', sa.Boolean(), nullable=False),
        sa.Column('deviation', sa.String(length=40), nullable=False),
        sa.Column('timing_reason', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_timed_draws_patient_id_patients')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_timed_draws_order_id_orders')),
        sa.ForeignKeyConstraint(['ordered_test_id'], ['ordered_tests.id'], name=op.f('fk_timed_draws_ordered_test_id_ordered_tests')),
        sa.ForeignKeyConstraint(['specimen_id'], ['specimens.id'], name=op.f('fk_timed_draws_specimen_id_specimens')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_timed_draws')),
        sa.UniqueConstraint('ordered_test_id', name=op.f('uq_timed_draws_ordered_test_id')),
    )
    op.create_index(op.f('ix_timed_draws_patient_id'), 'timed_draws', ['patient_id'], unique=False)
    op.create_index(op.f('ix_timed_draws_specimen_id'), 'timed_draws', ['specimen_id'], unique=False)
    op.create_index(op.f('ix_timed_draws_order_id_series_code'), 'timed_draws', ['order_id', 'series_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_timed_draws_order_id_series_code'), table_name='timed_draws')
    op.drop_index(op.f('ix_timed_draws_specimen_id'), table_name='timed_draws')
    op.drop_index(op.f('ix_timed_draws_patient_id'), table_name='timed_draws')
    op.drop_table('timed_draws')
    op.drop_table('series_steps')
