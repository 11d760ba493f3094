"""command log: idempotency keys of handled commands (issue 16 item 2)

Every state-changing use case is a command handled through ``labdesk.kernel.messagebus``;
its idempotency key is claimed in the handler's own transaction, so a command replayed by
the downtime outbox, or sent twice by a double click, is done once.

Revision ID: 0012_command_log
Revises: 0011_append_only
Create Date: 2026-12-03 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_command_log'
down_revision = '0011_append_only'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'handled_commands',
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('command', sa.String(length=80), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('handled_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_handled_commands_actor_id_users')),
        sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_handled_commands')),
    )
    op.create_index(op.f('ix_handled_commands_handled_at'), 'handled_commands', ['handled_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_handled_commands_handled_at'), table_name='handled_commands')
    op.drop_table('handled_commands')
