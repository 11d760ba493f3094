"""patient preparation, blood volume, collector and witness (issue 13 items 4-6)

Revision ID: 0016_preparation_volume
Revises: 0015_timed_draws
Create Date: 2026-12-03 08:40:00
"""
from alembic import op
import sqlalchemy as sa



revision = '0016_preparation_volume'
down_revision = '0015_timed_draws'
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    ref_table, ref_column = target.split('.')
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f'fk_{table}_{column}_{ref_table}')
    )


def upgrade() -> None:
    op.create_table(
        'preparation_rules',
        sa.Column('test_code', sa.String(length=16), nullable=False),
        sa.Column('fasting_hours', sa.Float(), nullable=True),
        sa.Column('last_dose_hours', sa.Float(), nullable=True),
        sa.Column('first_morning_urine', sa.Boolean(), nullable=False),
        sa.Column('question', sa.String(length=200), nullable=False),
        sa.Column('met_when', sa.String(length=200), nullable=False),
        _fk('preparation_rules', 'test_code', 'test_definitions.code'),
        sa.PrimaryKeyConstraint('test_code', name=op.f('pk_preparation_rules')),
    )
    op.create_table(
        'pediatric_tubes',
        sa.Column('test_code', sa.String(length=16), nullable=False),
        sa.Column('container_code', sa.String(length=16), nullable=False),
        sa.Column('volume_ml', sa.Float(), nullable=False),
        _fk('pediatric_tubes', 'test_code', 'test_definitions.code'),
        _fk('pediatric_tubes', 'container_code', 'container_types.code'),
        sa.PrimaryKeyConstraint('test_code', name=op.f('pk_pediatric_tubes')),
    )
    op.create_table(
        'preparation_answers',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('encounter_id', sa.Integer(), nullable=False),
        sa.Column('ordered_test_id', sa.Integer(), nullable=False),
        sa.Column('specimen_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('question', sa.String(length=200), nullable=False),
        sa.Column('answer', sa.String(length=200), nullable=False),
        sa.Column('met', sa.Boolean(), nullable=False),
        sa.Column('comment', sa.String(length=400), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        _fk('preparation_answers', 'encounter_id', 'encounters.id'),
        _fk('preparation_answers', 'ordered_test_id', 'ordered_tests.id'),
        _fk('preparation_answers', 'specimen_id', 'specimens.id'),
        _fk('preparation_answers', 'recorded_by_id', 'users.id'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_preparation_answers')),
    )
    for column in ('encounter_id', 'ordered_test_id', 'specimen_id'):
        op.create_index(
            op.f(f'ix_preparation_answers_{column}'), 'preparation_answers', [column]
        )
    op.create_table(
        'patient_weights',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('weight_kg', sa.Float(), nullable=False),
        sa.Column('encounter_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        _fk('patient_weights', 'patient_id', 'patients.id'),
        _fk('patient_weights', 'encounter_id', 'encounters.id'),
        _fk('patient_weights', 'recorded_by_id', 'users.id'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_weights')),
    )
    op.create_index(
        op.f('ix_patient_weights_patient_id_recorded_at'),
        'patient_weights',
        ['patient_id', 'recorded_at'],
    )
    op.create_table(
        'volume_prioritisations',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('encounter_id', sa.Integer(), nullable=False),
        sa.Column('clinician', sa.String(length=120), nullable=False),
        sa.Column('reason', sa.String(length=400), nullable=False),
        sa.Column('planned_ml', sa.Float(), nullable=False),
        sa.Column('allowed_ml', sa.Float(), nullable=False),
        sa.Column('excess_ml', sa.Float(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        _fk('volume_prioritisations', 'encounter_id', 'encounters.id'),
        _fk('volume_prioritisations', 'recorded_by_id', 'users.id'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_prioritisations')),
    )
    op.create_index(
        op.f('ix_volume_prioritisations_encounter_id'), 'volume_prioritisations', ['encounter_id']
    )
    op.create_table(
        'collection_witnesses',
        sa.Column('specimen_id', sa.Integer(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('collector_id', sa.Integer(), nullable=False),
        sa.Column('observer_id', sa.Integer(), nullable=True),
        _fk('collection_witnesses', 'specimen_id', 'specimens.id'),
        _fk('collection_witnesses', 'recorded_by_id', 'users.id'),
        _fk('collection_witnesses', 'collector_id', 'users.id'),
        _fk('collection_witnesses', 'observer_id', 'users.id'),
        sa.PrimaryKeyConstraint('specimen_id', name=op.f('pk_collection_witnesses')),
    )


def downgrade() -> None:
    op.drop_table('collection_witnesses')
    op.drop_index(op.f('ix_volume_prioritisations_encounter_id'), table_name='volume_prioritisations')
    op.drop_table('volume_prioritisations')
    op.drop_index(op.f('ix_patient_weights_patient_id_recorded_at'), table_name='patient_weights')
    op.drop_table('patient_weights')
    for column in ('encounter_id', 'ordered_test_id', 'specimen_id'):
        op.drop_index(op.f(f'ix_preparation_answers_{column}'), table_name='preparation_answers')
    op.drop_table('preparation_answers')
    op.drop_table('pediatric_tubes')
    op.drop_table('preparation_rules')
