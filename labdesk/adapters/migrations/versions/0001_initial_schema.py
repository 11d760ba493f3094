"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 18:21:28.097890
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('container_types',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('cap_colour', sa.String(length=40), nullable=False),
    sa.Column('cap_hex', sa.String(length=9), nullable=False),
    sa.Column('additive', sa.String(length=120), nullable=False),
    sa.Column('draw_rank', sa.Integer(), nullable=False),
    sa.Column('nominal_volume_ml', sa.Float(), nullable=False),
    sa.Column('inversions', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_container_types'))
    )
    op.create_table('counters',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    op.create_table('patients',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('mrn', sa.String(length=32).with_variant(sa.String(length=32, collation='C'), 'postgresql'), nullable=False),
    sa.Column('family_name', sa.String(length=120), nullable=False),
    sa.Column('given_name', sa.String(length=120), nullable=False),
    sa.Column('name_key', sa.String(length=250).with_variant(sa.String(length=250, collation='C'), 'postgresql'), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('mrn', name=op.f('uq_patients_mrn'))
    )
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patients_birth_date'), ['birth_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_patients_name_key'), ['name_key'], unique=False)

    op.create_table('sites',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('is_lab', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('code', name=op.f('uq_sites_code'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('initials', sa.String(length=8), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('badge_id', sa.String(length=64), nullable=True),
    sa.Column('pin_hash', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('badge_id', name=op.f('uq_users_badge_id')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('station', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.String(length=400), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_entries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_entries_hash'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_user_id'), ['user_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('placer_order_number', sa.String(length=40), nullable=False),
    sa.Column('requisition', sa.String(length=40), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('ordering_provider', sa.String(length=120), nullable=False),
    sa.Column('ordering_provider_id', sa.Integer(), nullable=True),
    sa.Column('priority', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('cancel_reason', sa.String(length=200), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ordering_provider_id'], ['users.id'], name=op.f('fk_orders_ordering_provider_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_orders_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('placer_order_number', name=op.f('uq_orders_placer_order_number'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_patient_id_status'), ['patient_id', 'status'], unique=False)

    op.create_table('patient_identifiers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('system', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_identifiers_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_identifiers')),
    sa.UniqueConstraint('system', 'value', name=op.f('uq_patient_identifiers_system_value'))
    )
    with op.batch_alter_table('patient_identifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_identifiers_patient_id'), ['patient_id'], unique=False)

    op.create_table('specimens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('accession', sa.String(length=16), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('container_code', sa.String(length=16), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('temperature_class', sa.String(length=32), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('collected_by_id', sa.Integer(), nullable=False),
    sa.Column('volume_ml', sa.Float(), nullable=True),
    sa.Column('collection_note', sa.String(length=400), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['collected_by_id'], ['users.id'], name=op.f('fk_specimens_collected_by_id_users')),
    sa.ForeignKeyConstraint(['container_code'], ['container_types.code'], name=op.f('fk_specimens_container_code_container_types')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_specimens_patient_id_patients')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_specimens_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_specimens')),
    sa.UniqueConstraint('accession', name=op.f('uq_specimens_accession'))
    )
    with op.batch_alter_table('specimens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_specimens_patient_id_collected_at'), ['patient_id', 'collected_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_specimens_site_id_status'), ['site_id', 'status'], unique=False)

    op.create_table('stations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('label_printer_uri', sa.String(length=400), nullable=False),
    sa.Column('document_printer_uri', sa.String(length=400), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_stations_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stations')),
    sa.UniqueConstraint('code', name=op.f('uq_stations_code'))
    )
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stations_site_id'), ['site_id'], unique=False)

    op.create_table('test_definitions',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('loinc', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('specimen_type', sa.String(length=40), nullable=False),
    sa.Column('container_code', sa.String(length=16), nullable=False),
    sa.Column('preferred_volume_ml', sa.Float(), nullable=False),
    sa.Column('minimum_volume_ml', sa.Float(), nullable=False),
    sa.Column('stability_ambient_h', sa.Float(), nullable=True),
    sa.Column('stability_refrigerated_h', sa.Float(), nullable=True),
    sa.Column('stability_frozen_h', sa.Float(), nullable=True),
    sa.Column('transport_temperature', sa.String(length=32), nullable=False),
    sa.Column('routine_tat_min', sa.Integer(), nullable=False),
    sa.Column('stat_tat_min', sa.Integer(), nullable=True),
    sa.Column('working_days', sa.Boolean(), nullable=False),
    sa.Column('critical_low', sa.Float(), nullable=True),
    sa.Column('critical_high', sa.Float(), nullable=True),
    sa.Column('units', sa.String(length=32), nullable=False),
    sa.Column('handling', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['container_code'], ['container_types.code'], name=op.f('fk_test_definitions_container_code_container_types')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_test_definitions'))
    )
    with op.batch_alter_table('test_definitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_definitions_loinc'), ['loinc'], unique=False)

    op.create_table('custody_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('specimen_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('location', sa.String(length=120), nullable=False),
    sa.Column('temperature_class', sa.String(length=32), nullable=True),
    sa.Column('seal_intact', sa.Boolean(), nullable=True),
    sa.Column('container_ref', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=400), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('chain_prev_hash', sa.String(length=64), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_custody_events_actor_id_users')),
    sa.ForeignKeyConstraint(['specimen_id'], ['specimens.id'], name=op.f('fk_custody_events_specimen_id_specimens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_events')),
    sa.UniqueConstraint('chain_hash', name=op.f('uq_custody_events_chain_hash')),
    sa.UniqueConstraint('specimen_id', 'seq', name=op.f('uq_custody_events_specimen_id_seq'))
    )
    op.create_table('ordered_tests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('test_code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('specimen_id', sa.Integer(), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_ordered_tests_order_id_orders')),
    sa.ForeignKeyConstraint(['specimen_id'], ['specimens.id'], name=op.f('fk_ordered_tests_specimen_id_specimens')),
    sa.ForeignKeyConstraint(['test_code'], ['test_definitions.code'], name=op.f('fk_ordered_tests_test_code_test_definitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ordered_tests'))
    )
    with op.batch_alter_table('ordered_tests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ordered_tests_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ordered_tests_specimen_id'), ['specimen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ordered_tests_status'), ['status'], unique=False)

    op.create_table('print_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('printer_uri', sa.String(length=400), nullable=False),
    sa.Column('station_code', sa.String(length=32), nullable=False),
    sa.Column('specimen_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('content_json', sa.Text(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=400), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reprint_of_id', sa.Integer(), nullable=True),
    sa.Column('reprint_reason', sa.String(length=200), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_print_jobs_attempts_non_negative')),
    sa.ForeignKeyConstraint(['reprint_of_id'], ['print_jobs.id'], name=op.f('fk_print_jobs_reprint_of_id_print_jobs')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_print_jobs_requested_by_id_users')),
    sa.ForeignKeyConstraint(['specimen_id'], ['specimens.id'], name=op.f('fk_print_jobs_specimen_id_specimens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_jobs'))
    )
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_jobs_specimen_id'), ['specimen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_print_jobs_status_next_attempt_at'), ['status', 'next_attempt_at'], unique=False)

    op.create_table('acknowledgements',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ordered_test_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('meaning', sa.String(length=32), nullable=False),
    sa.Column('note', sa.String(length=400), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ordered_test_id'], ['ordered_tests.id'], name=op.f('fk_acknowledgements_ordered_test_id_ordered_tests')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_acknowledgements_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgements'))
    )
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acknowledgements_ordered_test_id'), ['ordered_test_id'], unique=False)

    op.create_table('results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ordered_test_id', sa.Integer(), nullable=True),
    sa.Column('specimen_id', sa.Integer(), nullable=True),
    sa.Column('observation_code', sa.String(length=32), nullable=False),
    sa.Column('observation_name', sa.String(length=160), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('units', sa.String(length=32), nullable=False),
    sa.Column('reference_range', sa.String(length=64), nullable=False),
    sa.Column('abnormal_flag', sa.String(length=2), nullable=True),
    sa.Column('status', sa.String(length=1), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['ordered_test_id'], ['ordered_tests.id'], name=op.f('fk_results_ordered_test_id_ordered_tests')),
    sa.ForeignKeyConstraint(['specimen_id'], ['specimens.id'], name=op.f('fk_results_specimen_id_specimens')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['results.id'], name=op.f('fk_results_supersedes_id_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results'))
    )
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_results_ordered_test_id'), ['ordered_test_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_results_specimen_id'), ['specimen_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_results_specimen_id'))
        batch_op.drop_index(batch_op.f('ix_results_ordered_test_id'))

    op.drop_table('results')
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acknowledgements_ordered_test_id'))

    op.drop_table('acknowledgements')
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_jobs_status_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_print_jobs_specimen_id'))

    op.drop_table('print_jobs')
    with op.batch_alter_table('ordered_tests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ordered_tests_status'))
        batch_op.drop_index(batch_op.f('ix_ordered_tests_specimen_id'))
        batch_op.drop_index(batch_op.f('ix_ordered_tests_order_id'))

    op.drop_table('ordered_tests')
    op.drop_table('custody_events')
    with op.batch_alter_table('test_definitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_definitions_loinc'))

    op.drop_table('test_definitions')
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stations_site_id'))

    op.drop_table('stations')
    with op.batch_alter_table('specimens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_specimens_site_id_status'))
        batch_op.drop_index(batch_op.f('ix_specimens_patient_id_collected_at'))

    op.drop_table('specimens')
    with op.batch_alter_table('patient_identifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_identifiers_patient_id'))

    op.drop_table('patient_identifiers')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_patient_id_status'))

    op.drop_table('orders')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_user_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))

    op.drop_table('audit_entries')
    op.drop_table('users')
    op.drop_table('sites')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patients_name_key'))
        batch_op.drop_index(batch_op.f('ix_patients_birth_date'))

    op.drop_table('patients')
    op.drop_table('counters')
    op.drop_table('container_types')
