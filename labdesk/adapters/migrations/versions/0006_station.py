"""phlebotomy station: encounters, collection details, forensic forms, missed tests, alarms

Revision ID: 0006
Revises: 0005
Create Date: 2026-03-02 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('encounters',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('station_code', sa.String(length=32), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('identified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('identified_by_id', sa.Integer(), nullable=True),
    sa.Column('id_method', sa.String(length=16), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['identified_by_id'], ['users.id'], name=op.f('fk_encounters_identified_by_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_encounters_patient_id_patients')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_encounters_site_id_sites')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_encounters_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_encounters'))
    )
    with op.batch_alter_table('encounters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_encounters_patient_id_status'), ['patient_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_encounters_station_code_status'), ['station_code', 'status'], unique=False)

    op.create_table('collection_details',
    sa.Column('specimen_id', sa.Integer(), nullable=False),
    sa.Column('encounter_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('fasting', sa.Boolean(), nullable=True),
    sa.Column('backdate_reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['encounter_id'], ['encounters.id'], name=op.f('fk_collection_details_encounter_id_encounters')),
    sa.ForeignKeyConstraint(['specimen_id'], ['specimens.id'], name=op.f('fk_collection_details_specimen_id_specimens')),
    sa.PrimaryKeyConstraint('specimen_id', name=op.f('pk_collection_details'))
    )
    with op.batch_alter_table('collection_details', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_details_encounter_id'), ['encounter_id'], unique=False)

    op.create_table('forensic_collections',
    sa.Column('specimen_id', sa.Integer(), nullable=False),
    sa.Column('encounter_id', sa.Integer(), nullable=False),
    sa.Column('ccf_number', sa.String(length=32), nullable=False),
    sa.Column('temperature_c', sa.Float(), nullable=False),
    sa.Column('minutes_to_temperature_read', sa.Float(), nullable=False),
    sa.Column('temperature_in_range', sa.Boolean(), nullable=False),
    sa.Column('bottle_a_ml', sa.Float(), nullable=False),
    sa.Column('bottle_b_ml', sa.Float(), nullable=False),
    sa.Column('bottles_sealed_and_dated', sa.Boolean(), nullable=False),
    sa.Column('donor_initialled_seals', sa.Boolean(), nullable=False),
    sa.Column('donor_id_checked', sa.Boolean(), nullable=False),
    sa.Column('observed', sa.Boolean(), nullable=False),
    sa.Column('remarks', sa.String(length=400), nullable=False),
    sa.Column('recollection_of_id', sa.Integer(), nullable=True),
    sa.Column('recollection_waived_reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['encounter_id'], ['encounters.id'], name=op.f('fk_forensic_collections_encounter_id_encounters')),
    sa.ForeignKeyConstraint(['recollection_of_id'], ['specimens.id'], name=op.f('fk_forensic_collections_recollection_of_id_specimens')),
    sa.ForeignKeyConstraint(['specimen_id'], ['specimens.id'], name=op.f('fk_forensic_collections_specimen_id_specimens')),
    sa.PrimaryKeyConstraint('specimen_id', name=op.f('pk_forensic_collections'))
    )
    with op.batch_alter_table('forensic_collections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forensic_collections_ccf_number'), ['ccf_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_forensic_collections_encounter_id'), ['encounter_id'], unique=False)

    op.create_table('missed_collections',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('encounter_id', sa.Integer(), nullable=False),
    sa.Column('ordered_test_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['encounter_id'], ['encounters.id'], name=op.f('fk_missed_collections_encounter_id_encounters')),
    sa.ForeignKeyConstraint(['ordered_test_id'], ['ordered_tests.id'], name=op.f('fk_missed_collections_ordered_test_id_ordered_tests')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_missed_collections_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_missed_collections'))
    )
    with op.batch_alter_table('missed_collections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_missed_collections_encounter_id'), ['encounter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_missed_collections_ordered_test_id'), ['ordered_test_id'], unique=False)

    op.create_table('scan_alarms',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('encounter_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('scanned', sa.String(length=64), nullable=False),
    sa.Column('message', sa.String(length=400), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['encounter_id'], ['encounters.id'], name=op.f('fk_scan_alarms_encounter_id_encounters')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['users.id'], name=op.f('fk_scan_alarms_raised_by_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_scan_alarms_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_alarms'))
    )
    with op.batch_alter_table('scan_alarms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_alarms_encounter_id'), ['encounter_id'], unique=False)


def downgrade() -> None:
    for table, indexes in (
        ('scan_alarms', ('ix_scan_alarms_encounter_id',)),
        ('missed_collections', ('ix_missed_collections_ordered_test_id', 'ix_missed_collections_encounter_id')),
        ('forensic_collections', ('ix_forensic_collections_encounter_id', 'ix_forensic_collections_ccf_number')),
        ('collection_details', ('ix_collection_details_encounter_id',)),
        ('encounters', ('ix_encounters_station_code_status', 'ix_encounters_patient_id_status')),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(batch_op.f(index))
        op.drop_table(table)
