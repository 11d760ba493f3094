"""add-on tests and recollection links (issue 13 items 1-2)

``test_reservations``: per ordered test on a specimen, the volume it reserves (catalog
minimum), whether it was added on later and who asked. The unique constraint on
``(specimen_id, add_on_key)`` makes two simultaneous add-ons of one test to one tube end
with exactly one winner. Specimens drawn before this revision have no rows: their tests
reserve the catalog minimum read at the time of the question.

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
    op.create_table(
        'test_reservations',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ordered_test_id', sa.Integer(), nullable=False),
        sa.Column('specimen_id', sa.Integer(), nullable=False),
        sa.Column('test_code', sa.String(length=16), nullable=False),
        sa.Column('volume_ml', sa.Float(), nullable=False),
        sa.Column('added_on', sa.Boolean(), nullable=False),
        sa.Column('add_on_key', sa.String(length=16), nullable=True),
        sa.Column('requested_by', sa.String(length=120), nullable=False),
        sa.Column('reserved_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reserved_by_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['ordered_test_id'], ['ordered_tests.id'], name=op.f('fk_test_reservations_ordered_test_id_ordered_tests')),
        sa.ForeignKeyConstraint(['reserved_by_id'], ['users.id'], name=op.f('fk_test_reservations_reserved_by_id_users')),
        sa.ForeignKeyConstraint(['specimen_id'], ['specimens.id'], name=op.f('fk_test_reservations_specimen_id_specimens')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_test_reservations')),
        sa.UniqueConstraint('ordered_test_id', name=op.f('uq_test_reservations_ordered_test_id')),
        sa.UniqueConstraint('specimen_id', 'add_on_key', name=op.f('uq_test_reservations_specimen_id_add_on_key')),
    )
    with op.batch_alter_table('test_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_reservations_specimen_id'), ['specimen_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('test_reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_reservations_specimen_id'))
    op.drop_table('test_reservations')
