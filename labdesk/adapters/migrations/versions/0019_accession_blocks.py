"""downtime-proof stations (issue 12): accession blocks and the replayed-command record

``accession_blocks`` holds the serials the server reserved for each station (carved from
the year's accession counter, so they never collide with online IDs); ``replayed_commands``
records each outbox command a station replayed, with when it happened and when it synced.

Revision ID: 0019_accession_blocks
Revises: 0018_board_indexes
Create Date: 2026-12-03 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_accession_blocks'
down_revision = '0018_board_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'accession_blocks',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('first', sa.Integer(), nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.Column('issued_up_to', sa.Integer(), nullable=False),
        sa.Column('reserved_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_accession_blocks')),
        sa.UniqueConstraint('year', 'first', name=op.f('uq_accession_blocks_year_first')),
    )
    op.create_index(
        op.f('ix_accession_blocks_station_year'), 'accession_blocks', ['station', 'year']
    )
    op.create_table(
        'replayed_commands',
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('command', sa.String(length=80), nullable=False),
        sa.Column('happened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_replayed_commands')),
    )
    op.create_index(
        op.f('ix_replayed_commands_station_seq'), 'replayed_commands', ['station', 'seq']
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_replayed_commands_station_seq'), table_name='replayed_commands')
    op.drop_table('replayed_commands')
    op.drop_index(op.f('ix_accession_blocks_station_year'), table_name='accession_blocks')
    op.drop_table('accession_blocks')
